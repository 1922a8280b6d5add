import { Packr } from "msgpackr";

/**
 * The reply and codec of a guest call, shared by the engine (the Dispatcher answers with a Reply)
 * and the host functions (they encode requests and decode replies): the contract between them.
 */

/** The answer to one guest call: success bytes, or an error map the guest may handle. */
export interface Reply {
  ok: boolean;
  bytes: Uint8Array;
}

/**
 * The one journaling path as guest bridges see it (WASI imports, the component host): a call by op
 * name and request bytes, answered from the journal or live. engine/executor/dispatcher.ts is it.
 */
export interface Dispatch {
  call(op: string, request: Uint8Array): Reply | Promise<Reply>;
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const EMPTY = new Uint8Array(0);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_SCRATCH = new DataView(new ArrayBuffer(9));
INT64_SCRATCH.setUint8(0, 0xd3);
const INT64_BYTES = new Uint8Array(INT64_SCRATCH.buffer);

/** MessagePack bytes of a value (`undefined` and `null`: no bytes, which the guest reads as nil). */
export function encode(value: unknown): Uint8Array {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) {
    // The hot case (clock.now): the same bytes msgpackr writes (int 64), without its buffer juggling.
    INT64_SCRATCH.setBigInt64(1, value);
    const out = new Uint8Array(9); // small enough to live on V8's heap: no backing store to allocate
    out.set(INT64_BYTES);
    return out;
  }
  return packr.pack(value).slice();
}
