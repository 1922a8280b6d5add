import { AbiViolation, GuestAbort } from "../kernel/errors.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Reply } from "../kernel/reply.js";
import type { GuestMemory } from "../kernel/guest-memory.js";
import type { AsyncifyDriver } from "../kernel/asyncify.js";
import { encode } from "../kernel/reply.js";

/** Largest response the host hands a guest in one piece (docs/abi.md). */
export const MAX_RESPONSE = 64 * 1024 * 1024;
const MAX_OP_NAME = 64;
const MAX_REQUEST = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Builds the `dwe` import module (ABI v1: `call` and `response`) and AssemblyScript's `env`
 * runtime imports for one run.
 */
export function abiImports(
  memory: GuestMemory,
  dispatcher: Dispatcher,
  driver: AsyncifyDriver,
  debug: (line: string) => void,
): WebAssembly.Imports {
  let pending: Uint8Array = EMPTY;

  const settle = (reply: Reply): number => {
    if (reply.bytes.length > MAX_RESPONSE)
      throw new AbiViolation(`response of ${reply.bytes.length} bytes is over the ${MAX_RESPONSE}-byte limit`);
    pending = reply.bytes;
    return reply.ok ? reply.bytes.length : -reply.bytes.length - 1;
  };

  const call = (opPtr: number, opLen: number, reqPtr: number, reqLen: number): number | Promise<number> => {
    if (opLen >>> 0 > MAX_OP_NAME) throw new AbiViolation(`dwe.call: operation name of ${opLen >>> 0} bytes is too long`);
    if (reqLen >>> 0 > MAX_REQUEST)
      throw new AbiViolation(`dwe.call: request of ${reqLen >>> 0} bytes is over the ${MAX_REQUEST}-byte limit`);
    const op = memory.readString(opPtr, opLen, "dwe.call operation name");
    const request = reqLen === 0 ? EMPTY : memory.read(reqPtr, reqLen, `dwe.call ${op} request`);
    const r = dispatcher.call(op, request);
    return r instanceof Promise ? r.then(settle) : settle(r);
  };

  const response = (dstPtr: number, dstLen: number): number => {
    const n = Math.min(dstLen >>> 0, pending.length);
    memory.write(dstPtr, n === pending.length ? pending : pending.subarray(0, n), "dwe.response destination");
    pending = n === pending.length ? EMPTY : pending.subarray(n);
    return n;
  };

  /** Reads an AssemblyScript string (UTF-16, byte length stored just before the pointer). */
  const asString = (ptr: number): string => {
    if (ptr === 0) return "";
    try {
      const len = Math.min(memory.u32(ptr - 4, "string header"), 4096);
      const bytes = memory.read(ptr, len & ~1, "string");
      return new TextDecoder("utf-16le").decode(bytes);
    } catch {
      return "<unreadable>";
    }
  };

  return {
    dwe: { call: driver.wrap(call), response },
    env: {
      abort: (msg: number, file: number, line: number, col: number) => {
        throw new GuestAbort(`guest aborted: ${asString(msg)} at ${asString(file)}:${line}:${col}`);
      },
      trace: (msg: number, n: number, ...args: number[]) => {
        debug(`trace: ${asString(msg)} ${args.slice(0, n).join(", ")}`);
      },
      seed: () => {
        const r = dispatcher.callSync("random.bytes", encode({ len: 8 }));
        if (r.bytes.length < 8) return 1;
        const bytes = r.bytes.subarray(r.bytes.length - 8);
        return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true) >> 11n) || 1;
      },
    },
  };
}
