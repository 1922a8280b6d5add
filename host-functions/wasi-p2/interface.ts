import type { OpName } from "../../engine/kernel/ops.js";
import type { P2Env } from "./host.js";

/**
 * A dispatcher op a component's call makes: a host function of the dwe ABI or preview1 by its
 * name, or `p2:` and the name for wasi:filesystem's own (requests name guest paths, not fds), all
 * journaled under the op code of the name (engine/kernel/ops.ts).
 */
export type P2Op = OpName | `p2:${OpName}`;

/**
 * One WASI 0.2 interface file (like jco's preview2-shim): the WIT interfaces it implements, the
 * ops its calls make, and its import objects. The import objects run in the component's thread
 * (engine/runtime/component-worker.ts), next to the guest; the ops are answered on the engine's
 * thread by the host functions of those names (host-functions.ts), which the thread never loads.
 * A component never suspends: its thread blocks on each call (Atomics.wait), so no call is
 * declared as suspending.
 */
export interface P2Interface<Io = unknown> {
  /** WIT interface names, without their @version: exactly the keys `imports` returns. */
  readonly names: readonly string[];
  readonly ops: readonly P2Op[];
  /** The import objects, keyed by interface name as jco's instantiate() reads them; `io` is wasi:io's streams and pollables (io.ts). */
  imports(env: P2Env, io: Io): Record<string, Record<string, unknown>>;
}

export function p2Interface<Io>(spec: P2Interface<Io>): P2Interface<Io> {
  return spec;
}
