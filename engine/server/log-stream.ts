// `GET /api/runs/ID/logs?follow=1`: the run's log lines as Server-Sent Events, until the run (and its
// children) have ended; with `all=1` also the lines retries cut, as `dwe logs --all --follow`.
import type { ServerResponse } from "node:http";
import type { Dwe } from "../api/dwe.js";
import { errorResponse } from "./http-error.js";
import { logLineJson } from "../api/run-json.js";

/** How often an idle stream sends a comment, so proxies and clients see it is alive. */
const HEARTBEAT_MS = 15_000;

function event(res: ServerResponse, name: string, data: unknown): void {
  res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Streams every line already logged and then each new one as a `log` event; when the run and its
 * children have ended, an `end` event with the run's final status, and the response ends. A failure
 * midway is an `error` event (`{code, message}`). The run was checked to exist before the stream opened.
 */
export async function streamLogs(
  dwe: Dwe,
  runId: string,
  res: ServerResponse,
  signal: AbortSignal,
  pollMs: number,
  all = false,
): Promise<void> {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    Connection: "keep-alive",
  });
  res.write(": dwe logs\n\n");
  const beat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  try {
    for await (const line of dwe.logs(runId, { follow: true, all, signal, pollMs })) event(res, "log", logLineJson(line, true));
    if (!signal.aborted) event(res, "end", { run: runId, status: (await dwe.get(runId)).status });
  } catch (err) {
    const { code, message } = errorResponse(err);
    if (!signal.aborted) event(res, "error", { code, message });
    if (code === "internal") throw err;
  } finally {
    clearInterval(beat);
    res.end();
  }
}
