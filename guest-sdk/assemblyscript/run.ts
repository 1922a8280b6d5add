// The run itself: input, output, failure, identity and idempotency keys.

import { call, callMsg, fail } from "./abi";
import { Msg, MsgKind, MsgMap } from "./msgpack";
import { Json, JsonNull, JsonValue } from "./json";

/** The run's input bytes (the CLI's `--input`); empty if there is none. Op `run.input`. */
export function input(): Uint8Array {
  return callMsg("run.input", null).asBytes();
}

/** The run's input decoded as UTF-8. */
export function inputString(): string {
  const b = input();
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

/**
 * The run's input parsed as JSON. Empty (or all-whitespace) input gives JSON null; input that is
 * not valid JSON fails the run with code `invalid_input`.
 */
export function inputJson(): JsonValue {
  const s = inputString();
  if (s.trim().length == 0) return new JsonNull();
  const v = Json.parse(s);
  if (v === null) {
    fail("input is not valid JSON: " + Json.lastError, "invalid_input");
    return new JsonNull();
  }
  return v;
}

/** Sets the run's output to `bytes` (the last call wins). Op `run.output`. */
export function output(bytes: Uint8Array): void {
  call("run.output", Msg.bin(bytes).encode());
}

/** Sets the run's output to the UTF-8 bytes of `s`. */
export function outputString(s: string): void {
  output(Uint8Array.wrap(String.UTF8.encode(s)));
}

/** Sets the run's output to the compact JSON text of `v`. */
export function outputJson(v: JsonValue): void {
  outputString(v.toString());
}

/** The identity of the current run. */
export class RunInfo {
  constructor(
    /** The run id. */
    public id: string,
    /** The name of the entry function being run (`run` unless `--entry` said otherwise). */
    public entry: string,
  ) {}
}

/** The run's id and entry. Op `run.info` (not journaled). */
export function runInfo(): RunInfo {
  const v = callMsg("run.info", null);
  if (v.kind != MsgKind.Map) return new RunInfo("", "");
  const m = <MsgMap>v;
  return new RunInfo(m.getString("id"), m.getString("entry"));
}

/** The run's id. */
export function runId(): string {
  return runInfo().id;
}

/**
 * The idempotency key (`<run-id>:<seq>`) the **next** journaled call will have, e.g. to put it in
 * a request body before the `http` call that sends it. Op `run.key` (not journaled).
 */
export function idempotencyKey(): string {
  return callMsg("run.key", null).asString();
}
