import type { LogRecord } from "../journal/entry.js";
import type { RunRecord } from "../store/types.js";
import type { LogLine, RunInfo } from "./types.js";

/** A stored run as the API shows it (no lease or row internals). */
export function runInfo(r: RunRecord): RunInfo {
  return {
    id: r.id,
    status: r.status,
    module: r.module,
    name: r.name,
    entry: r.entry,
    input: r.input,
    output: r.output,
    error: r.error,
    parentId: r.parentId,
    attempts: r.attempts,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    wakeAt: r.wakeAt,
    config: r.config,
  };
}

export function logLine(runId: string, l: LogRecord): LogLine {
  return { runId, seq: l.seq, at: l.at, level: l.level, stream: l.stream, message: l.message, ...(l.data && { data: l.data }) };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A run's output as a value: its JSON when the bytes are JSON text, else the text; the bytes
 * themselves when they are not UTF-8; null when there is none.
 */
export function decodeOutput(bytes: Uint8Array | null): unknown {
  if (bytes === null || bytes.length === 0) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return bytes;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
