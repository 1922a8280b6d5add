// Time and randomness. All journaled: replays see the same values.

import { callMsg, call, tryCall, DweError } from "./abi";
import { Msg } from "./msgpack";

/** Wall-clock time in milliseconds since the Unix epoch. Op `clock.now`. */
export function now(): i64 {
  return callMsg("clock.now", null).asI64();
}

/** `n` random bytes (at most 65536; more fails the run with `invalid`). Op `random.bytes`. */
export function randomBytes(n: i32): Uint8Array {
  return callMsg("random.bytes", Msg.map().set("len", Msg.int(n))).asBytes();
}

/**
 * Sleeps `ms` milliseconds (durable: the deadline is journaled, a resumed run only sleeps what
 * is left, and long sleeps may suspend the run). Op `sleep`.
 */
export function sleep(ms: i64): void {
  call("sleep", Msg.map().set("ms", Msg.int(ms < 0 ? 0 : ms)).encode());
}

/** Sleeps until `epochMs` (milliseconds since the Unix epoch). Op `sleep`. */
export function sleepUntil(epochMs: i64): void {
  call("sleep", Msg.map().set("until", Msg.int(epochMs < 0 ? 0 : epochMs)).encode());
}

/** `sleep` that returns the host's error (or null) instead of failing the run. */
export function trySleep(ms: i64): DweError | null {
  return tryCall("sleep", Msg.map().set("ms", Msg.int(ms < 0 ? 0 : ms)).encode()).error;
}
