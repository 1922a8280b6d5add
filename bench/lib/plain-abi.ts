// The B1 baseline: the same guest with `dwe.call` answered by plain JavaScript, not journaled.
import { pack } from "msgpackr";
import { instantiate } from "../../engine/runtime/memory-pool.js";

/**
 * Instantiates `module` with imports of the same ABI shape as dwe's (`dwe.call`, `dwe.response`,
 * AssemblyScript's `env`) that answer `clock.now` with Date.now() and journal nothing. Returns the
 * entry function.
 */
export function plainInstance(module: WebAssembly.Module, input: Uint8Array): () => void {
  let memory: WebAssembly.Memory | null = null;
  let pending: Uint8Array = new Uint8Array(0);
  const answer = (bytes: Uint8Array): number => {
    pending = bytes;
    return bytes.length;
  };
  const ops = new TextDecoder();
  const imports: WebAssembly.Imports = {
    dwe: {
      call(opPtr: number, opLen: number): number {
        const op = ops.decode(new Uint8Array(memory!.buffer, opPtr, opLen));
        if (op === "clock.now") return answer(pack(BigInt(Date.now())));
        if (op === "run.input") return answer(pack(input));
        if (op === "run.output") return answer(new Uint8Array(0));
        throw new Error(`plain baseline: unexpected op ${op}`);
      },
      response(dst: number, len: number): number {
        const n = Math.min(len, pending.length);
        new Uint8Array(memory!.buffer, dst, n).set(pending.subarray(0, n));
        pending = pending.subarray(n);
        return n;
      },
    },
    env: {
      abort: () => {
        throw new Error("guest aborted");
      },
      trace: () => undefined,
      seed: () => 1,
    },
    wasi_snapshot_preview1: new Proxy({}, { get: () => () => 52 }),
  };
  // As dwe instantiates it: the module's memory is an import (engine/runtime/memory-pool.ts).
  const { instance } = instantiate(module, imports);
  memory = instance.exports.memory as WebAssembly.Memory;
  return instance.exports.run as () => void;
}
