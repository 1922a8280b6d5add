import type { HostFunction } from "../engine/kernel/host-function.js";
import { BadRequest } from "../engine/kernel/errors.js";
import { RequestFields } from "./request-fields.js";

const LEVELS = new Set(["debug", "info", "warn", "error"]);
const MAX_MESSAGE = 64 * 1024;

interface LogRequest {
  level: string;
  message: string;
  /** `exec`: a command's output that was shown live as it ran (exec `live`): stored, not printed again. */
  stream: "log" | "exec";
}

/** `log`: a structured log line, journaled with the call; shown once by `dwe logs`, never again on replay. */
export const log: HostFunction<LogRequest> = {
  name: "log",
  kind: "note",
  parse(request) {
    if (typeof request === "string") return { level: "info", message: request.slice(0, MAX_MESSAGE), stream: "log" };
    const f = new RequestFields("log", request);
    const level = f.optStr("level") ?? "info";
    const stream = f.optStr("stream") ?? "log";
    if (stream !== "log" && stream !== "exec") throw new BadRequest("log", `stream must be 'log' or 'exec', not '${stream}'`);
    let message = f.str("message");
    if (f.has("fields"))
      message +=
        " " + JSON.stringify((request as { fields: unknown }).fields, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    return { level: LEVELS.has(level) ? level : "info", message: message.slice(0, MAX_MESSAGE), stream };
  },
  logLine(request) {
    return { level: request.level, message: request.message, stream: request.stream };
  },
};
