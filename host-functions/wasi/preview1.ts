import { ProgramExit } from "../../engine/kernel/errors.js";
import type { Dispatch } from "../../engine/kernel/reply.js";
import type { GuestMemory } from "../../engine/kernel/guest-memory.js";
import { ASYNC_IMPORTS, type AsyncifyDriver } from "../../engine/kernel/asyncify.js";
import type { GuestRun } from "../../engine/kernel/guest-run.js";
import type { HostFunction } from "../../engine/kernel/host-function.js";
import { argsImports } from "./args.js";
import { clockFunctions, clockImports } from "./clocks.js";
import { Errno, ERRNO, Fault } from "./errno.js";
import { FdTable } from "./fd-table.js";
import { fileFunctions } from "./files.js";
import { fileImports } from "./file-imports.js";
import { linkImports } from "./link-imports.js";
import { linkFunctions } from "./links.js";
import { HostHandles } from "./handles.js";
import { WasiMemory } from "./memory.js";
import type { ClockState, WasiEnv, WasiImport, WasiState } from "./state.js";
import { StdioBuffer, stdioWrite } from "./stdio.js";

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

const WASI_PREFIX = "wasi.";

type Functions = ReadonlyMap<string, HostFunction<never>>;

/**
 * `base` merged with a run's WASI functions, the WASI ones made only when a `wasi.…` name is looked
 * up (every WASI function is named so). Lookups answer exactly as `new Map([...base, ...wasi()])`.
 */
class WithWasi implements ReadonlyMap<string, HostFunction<never>> {
  private merged: Functions | null = null;

  constructor(
    private readonly base: Functions,
    private readonly wasi: () => Functions,
  ) {}

  get(name: string): HostFunction<never> | undefined {
    if (name.startsWith(WASI_PREFIX)) {
      const f = this.wasi().get(name);
      if (f) return f;
    }
    return this.base.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Iteration (not used per call) goes through the merged map. */
  private all(): Functions {
    return (this.merged ??= new Map([...this.base, ...this.wasi()]));
  }

  get size(): number {
    return this.all().size;
  }

  forEach(cb: (value: HostFunction<never>, key: string, map: ReadonlyMap<string, HostFunction<never>>) => void, thisArg?: unknown): void {
    this.all().forEach((v, k) => cb.call(thisArg, v, k, this));
  }

  entries(): MapIterator<[string, HostFunction<never>]> {
    return this.all().entries();
  }

  keys(): MapIterator<string> {
    return this.all().keys();
  }

  values(): MapIterator<HostFunction<never>> {
    return this.all().values();
  }

  [Symbol.iterator](): MapIterator<[string, HostFunction<never>]> {
    return this.all()[Symbol.iterator]();
  }
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
  private wasiFunctions: ReadonlyMap<string, HostFunction<never>> | null = null;

  constructor(readonly run: GuestRun) {
    this.grants = run.config.grants;
    this.table = new FdTable(this.grants);
    this.handles = new HostHandles(this.grants);
  }

  /** This run's WASI host functions (all named `wasi.…`), made on first use: most runs of `dwe` ABI guests never need them. */
  get functions(): ReadonlyMap<string, HostFunction<never>> {
    if (this.wasiFunctions) return this.wasiFunctions;
    const list = [...clockFunctions(this.clock), stdioWrite as HostFunction<never>, ...fileFunctions(this), ...linkFunctions(this)];
    for (const f of list)
      if (!f.name.startsWith(WASI_PREFIX)) throw new Error(`internal: WASI host function ${f.name} is not named ${WASI_PREFIX}…`);
    this.wasiFunctions = new Map(list.map((f) => [f.name, f]));
    return this.wasiFunctions;
  }

  /**
   * The dispatcher's functions: the `dwe` ABI's plus this run's WASI ones (which win on a clash, as
   * in a merged map). A `wasi.…` lookup builds the WASI functions; any other is answered by `base`.
   */
  withFunctions(base: ReadonlyMap<string, HostFunction<never>>): ReadonlyMap<string, HostFunction<never>> {
    return new WithWasi(base, () => this.functions);
  }

  imports(memory: GuestMemory, dispatcher: Dispatch, driver: AsyncifyDriver): Record<string, (...args: never[]) => unknown> {
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
      ...linkImports(env),
      proc_exit: (code: number) => {
        throw new ProgramExit(code);
      },
    };
    const fns: Record<string, (...args: never[]) => unknown> = {};
    for (const [name, impl] of Object.entries(impls)) {
      const safe = guard(impl as unknown as Imp);
      // Only imports asyncify instrumented may return a promise (a live effect or timer).
      fns[name] = ASYNC.has(`wasi_snapshot_preview1.${name}`) ? driver.wrap(safe) : syncOnly(name, safe);
    }
    // Everything else (proc_raise, names preview1 does not define) answers ENOSYS.
    return new Proxy(fns, { get: (target, name: string) => target[name] ?? (() => ERRNO.ENOSYS) });
  }

  /**
   * Journals what stdout/stderr hold without a final newline. Call it when the program has ended
   * (its entry returned, or proc_exit), outside the guest, before `dispatcher.finish()`.
   */
  flushStdio(dispatcher: Dispatch): Promise<void> {
    return this.stdio.flush(dispatcher);
  }

  /** Releases the host handles of the run's open files. */
  close(): void {
    this.handles.closeAll();
  }
}
