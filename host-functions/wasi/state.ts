import type { Dispatch } from "../../engine/kernel/reply.js";
import type { Grants } from "../../engine/kernel/grants.js";
import type { GuestRun } from "../../engine/kernel/guest-run.js";
import type { FdTable } from "./fd-table.js";
import type { HostHandles } from "./handles.js";
import type { WasiMemory } from "./memory.js";
import type { StdioBuffer } from "./stdio.js";

/** Deterministic clock state: rebuilt from journaled readings in replay exactly as live. */
export interface ClockState {
  /** The last MONOTONIC (or CPU-time) reading handed to the guest, so the clock never goes back. */
  lastMonotonic: bigint;
  /** The last REALTIME reading handed to the guest (used to order absolute deadlines). */
  lastRealtime: bigint;
}

/** Per-run WASI state shared by the host functions (live side) and the imports (guest side). */
export interface WasiState {
  readonly run: GuestRun;
  readonly grants: Grants;
  readonly table: FdTable;
  readonly handles: HostHandles;
  readonly clock: ClockState;
  readonly stdio: StdioBuffer;
}

/** What the imports of one instance work with. */
export interface WasiEnv extends WasiState {
  readonly mem: WasiMemory;
  readonly dispatcher: Dispatch;
}

/** A WASI import: its parameters are i32 (number) or i64 (bigint); it returns an errno. */
export type WasiImport = (...args: never[]) => number | Promise<number>;
