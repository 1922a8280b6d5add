/**
 * The contract between the asyncify instrumentation (engine/runtime/asyncify.ts) and the host
 * imports that may suspend a guest (the dwe ABI, WASI preview1): the ABI's imports that may, and
 * the one thing an import needs of the driver, a wrapper that turns a returned promise into a suspension.
 */

/**
 * The imports of the dwe ABI that may suspend the guest. WASI preview1's are declared with each
 * import (host-functions/wasi/interface.ts); engine/runtime/asyncify.ts instruments both.
 */
export const ABI_SUSPENDING = ["dwe.call"] as const;

/** A host import as the guest calls it: numbers in, a number out, or a promise of one (a suspension). */
export type HostImport = (...args: number[]) => number | bigint | Promise<number | bigint>;

/** What imports need of the driver of an instance (engine/runtime/asyncify.ts implements it). */
export interface AsyncifyDriver {
  /** Wraps a host import: a promise it returns suspends the guest until the promise settles. */
  wrap(fn: HostImport): (...args: number[]) => number | bigint;
}
