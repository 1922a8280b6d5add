import type { Grants } from "./grants.js";

/**
 * What host code may know of the run it serves: its input and its pinned configuration. The store's
 * RunRecord (engine/store/types.ts) is one; host functions take this view so they need no store.
 */
export interface GuestRun {
  /** The run's input (WASI reads it as stdin). */
  readonly input: Uint8Array;
  readonly config: {
    readonly grants: Grants;
    /** WASI arguments after argv[0]. */
    readonly args: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    /** WASI argv[0]: the module's file name (absent in runs stored before dwe kept it). */
    readonly argv0?: string;
  };
}
