/**
 * The contract between the asyncify instrumentation (engine/runtime/asyncify.ts) and the host
 * imports that may suspend a guest (the dwe ABI, WASI preview1): which imports those are, and the
 * one thing an import needs of the driver, a wrapper that turns a returned promise into a suspension.
 */

/** WASI imports that make journaled calls: live effects and timers await commits (docs/wasi.md). */
const WASI_ASYNC = [
  "poll_oneoff",
  "clock_time_get",
  "random_get",
  "fd_read",
  "fd_pread",
  "fd_write",
  "fd_pwrite",
  "fd_seek",
  "fd_filestat_get",
  "path_filestat_get",
  "fd_readdir",
  "path_open",
  "path_create_directory",
  "path_remove_directory",
  "path_unlink_file",
  "path_rename",
  "fd_filestat_set_size",
  "path_symlink",
  "path_readlink",
  "path_link",
  "path_filestat_set_times",
  "fd_filestat_set_times",
] as const;

/**
 * Imports that may suspend the guest. Everything else is answered synchronously. Every WASI import
 * that can reach the journal is here, not only the effects: with `resume --upgrade`, the first call
 * past the replayed journal awaits the module switch, whatever its kind.
 */
export const ASYNC_IMPORTS = ["dwe.call", ...WASI_ASYNC.map((n) => `wasi_snapshot_preview1.${n}` as const)] as const;

/** A host import as the guest calls it: numbers in, a number out, or a promise of one (a suspension). */
export type HostImport = (...args: number[]) => number | bigint | Promise<number | bigint>;

/** What imports need of the driver of an instance (engine/runtime/asyncify.ts implements it). */
export interface AsyncifyDriver {
  /** Wraps a host import: a promise it returns suspends the guest until the promise settles. */
  wrap(fn: HostImport): (...args: number[]) => number | bigint;
}
