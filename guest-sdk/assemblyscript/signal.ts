// Signals: external events sent to a run with `dwe signal RUN NAME [--data JSON]` (op `signal.wait`).
// Waiting suspends the run durably; a signal sent before the wait is kept; each signal is
// delivered to exactly one wait, oldest first, and journaled.

import { tryCallMsg, Result } from "./abi";
import { Msg } from "./msgpack";
import { Json, JsonValue } from "./json";

/** A delivered signal. */
export class Signal {
  constructor(
    /** The signal's name. */
    public name: string,
    /** The data sent with it (`--data`, usually JSON text); empty if none. */
    public data: Uint8Array,
  ) {}

  /** The data decoded as UTF-8. */
  text(): string { return String.UTF8.decodeUnsafe(this.data.dataStart, <usize>this.data.length); }

  /** The data parsed as JSON, or null when it is empty or not JSON. */
  json(): JsonValue | null { return this.data.length == 0 ? null : Json.parse(this.text()); }
}

/**
 * Waits for the next signal named `name`; `timeoutMs < 0` waits without limit. Returns the signal,
 * or the error `timeout` when none came in time.
 */
export function tryWaitSignal(name: string, timeoutMs: i64 = -1): Result<Signal> {
  const req = Msg.map().set("name", Msg.str(name));
  if (timeoutMs >= 0) req.set("timeout_ms", Msg.int(timeoutMs));
  const r = tryCallMsg("signal.wait", req);
  if (!r.ok) return Result.failure<Signal>(r.error!);
  const m = r.value.asMap();
  return Result.success<Signal>(new Signal(m.getString("name"), m.getBytes("data")));
}

/** Waits for the next signal named `name`; returns null on timeout (other errors fail the run). */
export function waitSignal(name: string, timeoutMs: i64 = -1): Signal | null {
  const r = tryWaitSignal(name, timeoutMs);
  if (!r.ok && r.error!.code == "timeout") return null;
  return r.value;
}
