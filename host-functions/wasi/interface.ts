import type { HostFunction } from "../../engine/kernel/host-function.js";
import type { OpName } from "../../engine/kernel/ops.js";
import type { WasiEnv, WasiImport, WasiState } from "./state.js";

/** The import module of WASI preview1. */
export const PREVIEW1_MODULE = "wasi_snapshot_preview1";

/** A value type of a preview1 function, as lowered to core Wasm (witx: handles, sizes, pointers are i32). */
export type ValType = "i32" | "i64";

/**
 * What dwe declares of one preview1 import, next to its implementation: the signature it provides
 * (a module importing the name with another one is refused at load, engine/runtime/import-signatures.ts)
 * and the journaled operations it may make. An import that makes one may suspend the guest (a live
 * effect or timer awaits a commit, and with `resume --upgrade` the first call past the replayed
 * journal awaits the module switch, whatever its kind), so it is an asyncify import
 * (engine/runtime/asyncify.ts); one that makes none answers from the run's state, synchronously.
 */
export interface ImportDecl {
  readonly params: readonly ValType[];
  /** Every preview1 function returns an errno (i32), except proc_exit. */
  readonly results?: readonly ValType[];
  /** The op codes (engine/kernel/ops.ts: the journal format) the import may journal. */
  readonly ops: readonly OpName[];
}

/**
 * One group of preview1 functions (like jco's preview2-shim has one file per interface): every
 * import's declaration, its guest side (the import, checking pointers and the fd table) and the
 * live side of the ops it journals (host functions run by the dispatcher, all named `wasi.…`).
 */
export interface WasiInterface<N extends string = string> {
  /** For messages: what the group is (`clocks`, `files`, …). */
  readonly name: string;
  readonly imports: { readonly [K in N]: ImportDecl };
  /** The guest side: one import per declared name. */
  guest(env: WasiEnv): { readonly [K in N]: WasiImport };
  /** The live side of the ops the imports journal (none for a group that journals nothing). */
  host(state: WasiState): readonly HostFunction<never>[];
}

/** Declares a group; the type ties the guest side's names to the declared ones. */
export function wasiInterface<N extends string>(spec: WasiInterface<N>): WasiInterface<N> {
  return spec;
}

/** Shorthands for declarations. */
export const I: ValType = "i32";
export const L: ValType = "i64";
export const i32s = (n: number): ValType[] => Array<ValType>(n).fill(I);
