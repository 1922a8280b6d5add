/**
 * A guest's linear memory as host code sees it: every pointer from a guest is checked against it.
 * engine/executor/guest-memory.ts implements it (bound to the instance's `memory` export); ranges
 * outside memory throw AbiViolation, and `what` names the argument in that error.
 */
export interface GuestMemory {
  /** Whether the instance's memory is known yet. */
  readonly bound: boolean;
  /** The whole memory (renewed after the guest grows it). */
  readonly buffer: ArrayBuffer;
  /** A copy of guest bytes [ptr, ptr + len). */
  read(ptr: number, len: number, what: string): Uint8Array;
  /** Guest bytes [ptr, ptr + len) as UTF-8 (invalid UTF-8 is an AbiViolation). */
  readString(ptr: number, len: number, what: string): string;
  write(ptr: number, bytes: Uint8Array, what: string): void;
  view(): DataView;
  u32(ptr: number, what: string): number;
  setU32(ptr: number, value: number, what: string): void;
  setU64(ptr: number, value: bigint, what: string): void;
}
