import { encode } from "../../engine/kernel/reply.js";
import { RANDOM_CHUNK } from "../wasi/constants.js";
import { asU8, hostCall, type P2Env } from "./host.js";
import { p2Interface } from "./interface.js";

/**
 * wasi:random (random, insecure, insecure-seed): every byte comes from `wasi.random_get` (the
 * preview1 op, same request) and is journaled, so a resumed run sees the same values.
 */
export function randomBytes(env: P2Env, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let done = 0; done < len;) {
    const n = Math.min(RANDOM_CHUNK, len - done);
    const r = hostCall(env, "wasi.random_get", encode(n));
    const bytes = r.ok ? asU8(r.value) : new Uint8Array(0);
    if (bytes.length < n) throw new Error(`wasi:random: the host returned ${bytes.length} of ${n} random bytes`);
    out.set(bytes.subarray(0, n), done);
    done += n;
  }
  return out;
}

function u64(env: P2Env): bigint {
  const b = randomBytes(env, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/** Largest get-random-bytes answered (the interface takes a u64). */
const MAX_RANDOM = 64 * 1024 * 1024;

function sized(len: bigint): number {
  if (len > BigInt(MAX_RANDOM)) throw new Error(`wasi:random: ${len} bytes asked, more than the ${MAX_RANDOM} dwe answers in one call`);
  return Number(len);
}

function randomImports(env: P2Env): Record<string, Record<string, unknown>> {
  return {
    "wasi:random/random": {
      getRandomBytes: (len: bigint) => randomBytes(env, sized(len)),
      getRandomU64: () => u64(env),
    },
    "wasi:random/insecure": {
      getInsecureRandomBytes: (len: bigint) => randomBytes(env, sized(len)),
      getInsecureRandomU64: () => u64(env),
    },
    "wasi:random/insecure-seed": {
      insecureSeed: (): [bigint, bigint] => [u64(env), u64(env)],
    },
  };
}

/** wasi:random: bytes journaled as preview1's random_get. */
export const randomInterface = p2Interface({
  names: ["wasi:random/random", "wasi:random/insecure", "wasi:random/insecure-seed"],
  ops: ["wasi.random_get"],
  imports: randomImports,
});
