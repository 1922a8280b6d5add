import type { Dispatcher } from "../../engine/executor/dispatcher.js";
import type { GuestMemory } from "../../engine/executor/guest-memory.js";
import type { AsyncifyDriver } from "../../engine/runtime/asyncify.js";
import { ASYNC_IMPORTS } from "../../engine/runtime/asyncify.js";
import type { RunRecord } from "../../engine/store/types.js";
import type { HostFunction } from "../types.js";
import { argsImports } from "./args.js";
import { clockFunctions, clockImports } from "./clocks.js";
import { Errno, ERRNO, Fault } from "./errno.js";
import { FdTable } from "./fd-table.js";
import { fileFunctions } from "./files.js";
import { fileImports } from "./file-imports.js";
import { HostHandles } from "./handles.js";
import { WasiMemory } from "./memory.js";
import type { ClockState, WasiEnv, WasiImport, WasiState } from "./state.js";
import { StdioBuffer, stdioWrite } from "./stdio.js";

/** `proc_exit` was called: ends the run with that exit code. */
export class ProcExit extends Error {
  override name = "ProcExit";
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

const ASYNC = new Set<string>(ASYNC_IMPORTS);

type Imp = (...args: unknown[]) => number | Promise<number>;

function onError(err: unknown): number {
  if (err instanceof Fault) return ERRNO.EFAULT;
  if (err instanceof Errno) return err.errno;
  throw err;
}

/** Deterministic errnos and wild pointers become return values; anything else ends the run. */
function guard(fn: Imp): Imp {
  return (...args) => {
    try {
      const r = fn(...args);
      return r instanceof Promise ? r.catch(onError) : r;
    } catch (err) {
      return onError(err);
    }
  };
}

function syncOnly(name: string, fn: Imp): Imp {
  return (...args) => {
    const r = fn(...args);
    if (r instanceof Promise) throw new Error(`internal: WASI ${name} must answer synchronously (add it to ASYNC_IMPORTS)`);
    return r;
  };
}

/**
 * WASI preview1 for one run, journaled through the dispatcher (docs/wasi.md). Holds the run's
 * deterministic WASI state (fd table, clock floor) and its live host handles; `functions` are the
 * host functions to give the dispatcher, `imports` the `wasi_snapshot_preview1` import object.
 */
export class WasiHost implements WasiState {
  readonly grants;
  readonly table: FdTable;
  readonly handles: HostHandles;
  readonly clock: ClockState = { lastMonotonic: 0n, lastRealtime: 0n };
  readonly stdio = new StdioBuffer();
  readonly functions: ReadonlyMap<string, HostFunction<never>>;

  constructor(readonly run: RunRecord) {
    this.grants = run.config.grants;
    this.table = new FdTable(this.grants);
    this.handles = new HostHandles(this.grants);
    this.functions = new Map(
      [...clockFunctions(this.clock), stdioWrite as HostFunction<never>, ...fileFunctions(this)].map((f) => [f.name, f]),
    );
  }

  /** The dispatcher's functions: the `dwe` ABI's plus this run's WASI ones. */
  withFunctions(base: ReadonlyMap<string, HostFunction<never>>): ReadonlyMap<string, HostFunction<never>> {
    return new Map([...base, ...this.functions]);
  }

  imports(memory: GuestMemory, dispatcher: Dispatcher, driver: AsyncifyDriver): Record<string, (...args: never[]) => unknown> {
    const mem = new WasiMemory(memory);
    const env: WasiEnv = {
      run: this.run,
      grants: this.grants,
      table: this.table,
      handles: this.handles,
      clock: this.clock,
      stdio: this.stdio,
      mem,
      dispatcher,
    };
    const impls: Record<string, WasiImport> = {
      ...argsImports(mem, this.run),
      ...clockImports(env),
      ...fileImports(env),
      proc_exit: (code: number) => {
        throw new ProcExit(code);
      },
    };
    const fns: Record<string, (...args: never[]) => unknown> = {};
    for (const [name, impl] of Object.entries(impls)) {
      const safe = guard(impl as unknown as Imp);
      // Only imports asyncify instrumented may return a promise (a live effect or timer).
      fns[name] = ASYNC.has(`wasi_snapshot_preview1.${name}`) ? driver.wrap(safe) : syncOnly(name, safe);
    }
    // Everything else (sockets, links, set-times, proc_raise…) answers ENOSYS.
    return new Proxy(fns, { get: (target, name: string) => target[name] ?? (() => ERRNO.ENOSYS) });
  }

  /**
   * Journals what stdout/stderr hold without a final newline. Call it when the program has ended
   * (its entry returned, or proc_exit), outside the guest, before `dispatcher.finish()`.
   */
  flushStdio(dispatcher: Dispatcher): Promise<void> {
    return this.stdio.flush(dispatcher);
  }

  /** Releases the host handles of the run's open files. */
  close(): void {
    this.handles.closeAll();
  }
}
