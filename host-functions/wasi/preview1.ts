import type { Dispatcher } from "../../engine/executor/dispatcher.js";
import type { GuestMemory } from "../../engine/executor/guest-memory.js";
import type { AsyncifyDriver } from "../../engine/runtime/asyncify.js";
import type { RunRecord } from "../../engine/store/types.js";

/** `proc_exit` was called: ends the run with that exit code. */
export class ProcExit extends Error {
  override name = "ProcExit";
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

const ENOSYS = 52;

/** Journaled WASI preview1 (placeholder: every call but proc_exit answers ENOSYS). */
export function wasiImports(_memory: GuestMemory, _dispatcher: Dispatcher, _driver: AsyncifyDriver, _run: RunRecord): Record<string, (...args: number[]) => unknown> {
  const fns: Record<string, (...args: number[]) => unknown> = {
    proc_exit: (code: number) => {
      throw new ProcExit(code);
    },
  };
  return new Proxy(fns, {
    get: (target, name: string) => target[name] ?? (() => ENOSYS),
  });
}
