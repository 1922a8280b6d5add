import { encode, type Dispatch, type Reply } from "../../engine/kernel/reply.js";
import { CorruptJournal } from "../../engine/kernel/errors.js";
import { decodeMsgpack, PAYLOAD_LIMITS, RefusedMsgpack } from "../../engine/kernel/msgpack-decoder.js";
import { errnoOfCode } from "../fs-error.js";
import { ERRNO } from "./errno.js";

export { encode };

/** An import's result: an errno, or a promise of one while a live effect or timer runs. */
export type Result = number | Promise<number>;

/** Applies `f` now if `x` is a value, later if it is a promise: keeps the sync path sync. */
export function andThen<T>(x: T | Promise<T>, f: (value: T) => Result): Result {
  return x instanceof Promise ? x.then(f) : f(x);
}

const SCRATCH = new DataView(new ArrayBuffer(8));

/**
 * Decodes a journaled result (from the store on replay, or just encoded live), within the limits of
 * journal payloads: an imported run brings its own journal. Integers of 64 bits (clock readings)
 * skip the decoder: hot path.
 */
export function decode(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return null;
  const tag = bytes[0]!;
  if (bytes.length === 9 && (tag === 0xcf || tag === 0xd3)) {
    for (let i = 0; i < 8; i++) SCRATCH.setUint8(i, bytes[i + 1]!);
    return tag === 0xcf ? SCRATCH.getBigUint64(0) : SCRATCH.getBigInt64(0);
  }
  try {
    return decodeMsgpack(bytes, PAYLOAD_LIMITS);
  } catch (err) {
    if (err instanceof RefusedMsgpack)
      throw new CorruptJournal(`a journaled result of ${bytes.length} bytes cannot be decoded: ${err.message}`);
    throw err;
  }
}

export function asBigInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return 0n;
}

export function asNumber(v: unknown): number {
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0;
}

export function asBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

function errnoOfReply(reply: Reply): number {
  let code: unknown;
  try {
    code = (decodeMsgpack(reply.bytes, PAYLOAD_LIMITS) as { code?: unknown } | null)?.code;
  } catch {
    code = undefined;
  }
  return ERRNO[errnoOfCode(code)];
}

/**
 * Makes one journaled WASI call through the dispatcher (the one journaling path) and hands a
 * successful result to `done`; an error result becomes the errno it names. `done` runs in replay
 * and live alike, so whatever it changes in the fd table is the same in both.
 */
export function journaled(dispatcher: Dispatch, op: string, request: Uint8Array, done: (value: unknown) => Result): Result {
  return andThen(dispatcher.call(op, request), (reply) => (reply.ok ? done(decode(reply.bytes)) : errnoOfReply(reply)));
}
