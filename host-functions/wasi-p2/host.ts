import type { Reply } from "../../engine/kernel/reply.js";
import type { Grants } from "../../engine/kernel/grants.js";
import { decodeMsgpack, PAYLOAD_LIMITS } from "../../engine/kernel/msgpack-decoder.js";
import { decode } from "../wasi/codec.js";

/**
 * The guest side of WASI 0.2 in dwe. The interface objects (clocks.ts, io.ts, …) run next to the
 * component (in its worker thread, engine/runtime/component-worker.ts) and hold only state that is
 * built from the run's config and from journaled results, so a replay rebuilds it exactly. Every
 * call that reads the world or changes it is one synchronous `call(op, request)`, answered by the
 * run's Dispatcher (the one journaling path) on the engine's thread.
 */
export type HostCall = (op: string, request: Uint8Array) => Reply;

/** What the interfaces of one component instance work with. */
export interface P2Env {
  readonly call: HostCall;
  /** WASI arguments (argv[0] included) and environment, from the run's pinned config. */
  readonly args: readonly string[];
  readonly env: ReadonlyArray<[string, string]>;
  /** The run's input: what the guest reads from stdin. */
  readonly stdin: Uint8Array;
  readonly grants: Grants;
  /** Deterministic clock state (from journaled readings). */
  readonly clock: { lastMonotonic: bigint };
  /**
   * The code the core module of a preview1-adapted component last passed to `proc_exit`, seen on
   * its way to the adapter (component-worker.ts): the adapter itself calls `exit(err)`, losing it.
   */
  readonly procExit: { code: number | null };
}

/**
 * A value thrown out of a host function that jco lowers as the `err` case of the function's
 * `result` (jco takes the thrown object's own `payload` property).
 */
export class ResultError extends Error {
  override name = "ResultError";
  constructor(readonly payload: unknown) {
    super(typeof payload === "string" ? payload : JSON.stringify(payload, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  }
}

/** An error reply of the host: `{code, message}`. */
export interface HostErrorReply {
  code: string;
  message: string;
}

export function errorOf(reply: Reply): HostErrorReply {
  try {
    const v = decodeMsgpack(reply.bytes, PAYLOAD_LIMITS) as { code?: unknown; message?: unknown } | null;
    return { code: typeof v?.code === "string" ? v.code : "io", message: typeof v?.message === "string" ? v.message : "" };
  } catch {
    return { code: "io", message: "" };
  }
}

/** Calls the host; returns the decoded result or the error reply. */
export function hostCall(env: P2Env, op: string, request: Uint8Array): { ok: true; value: unknown } | { ok: false; error: HostErrorReply } {
  const reply = env.call(op, request);
  return reply.ok ? { ok: true, value: decode(reply.bytes) } : { ok: false, error: errorOf(reply) };
}

export function asBig(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return 0n;
}

export function asU8(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}
