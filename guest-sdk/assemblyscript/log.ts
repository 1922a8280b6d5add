// Logging. Log records are journaled (op `log`), so they are not repeated on replay.

import { call } from "./abi";
import { Msg, MsgMap } from "./msgpack";

/** Log levels understood by the host. */
export namespace Level {
  export const DEBUG = "debug";
  export const INFO = "info";
  export const WARN = "warn";
  export const ERROR = "error";
}

/**
 * Writes a log record. `level` is `debug`, `info` (default), `warn` or `error`;
 * `fields` (optional) is a map of structured fields.
 */
export function log(message: string, level: string = "info", fields: MsgMap | null = null): void {
  const req = Msg.map().set("level", Msg.str(level)).set("message", Msg.str(message));
  if (fields !== null) req.set("fields", fields);
  call("log", req.encode());
}

/**
 * Stores a command's output that `exec` with `ExecOptions.live` already showed as it ran: `dwe logs`
 * shows it, the live printer does not print it again.
 */
export function logShown(message: string, level: string = "info"): void {
  call("log", Msg.map().set("level", Msg.str(level)).set("message", Msg.str(message)).set("stream", Msg.str("exec")).encode());
}

/** `log(message, "debug")`. */
export function logDebug(message: string): void { log(message, "debug"); }

/** `log(message, "warn")`. */
export function logWarn(message: string): void { log(message, "warn"); }

/** `log(message, "error")`. */
export function logError(message: string): void { log(message, "error"); }
