import type { Dispatch } from "../../engine/kernel/reply.js";
import type { GuestMemory } from "../../engine/kernel/guest-memory.js";
import type { AsyncifyDriver } from "../../engine/kernel/asyncify.js";
import type { GuestRun } from "../../engine/kernel/guest-run.js";
import type { HostFunction } from "../../engine/kernel/host-function.js";
import { Errno, ERRNO, Fault } from "./errno.js";
import { FdTable } from "./fd-table.js";
import { HostHandles } from "./handles.js";
import { PREVIEW1_INTERFACES } from "./interfaces.js";
import { WasiMemory } from "./memory.js";
import type { ClockState, WasiEnv, WasiImport, WasiState } from "./state.js";
import { StdioBuffer } from "./stdio.js";

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
    if (r instanceof Promise) throw new Error(`internal: WASI ${name} must answer synchronously (declare the ops it journals)`);
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
    const map = new Map<string, HostFunction<never>>();
    for (const group of PREVIEW1_INTERFACES) {
      for (const f of group.host(this)) {
        if (!f.name.startsWith(WASI_PREFIX)) throw new Error(`internal: WASI host function ${f.name} is not named ${WASI_PREFIX}…`);
        map.set(f.name, f);
      }
    }
    // Every op an import declares is answered: a missing one would fail a run at its first call.
    for (const group of PREVIEW1_INTERFACES)
      for (const [name, decl] of Object.entries(group.imports))
        for (const op of decl.ops)
          if (!map.has(op)) throw new Error(`internal: WASI ${name} (${group.name}) journals ${op}, which no host function answers`);
    this.wasiFunctions = map;
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
    const fns: Record<string, (...args: never[]) => unknown> = {};
    for (const group of PREVIEW1_INTERFACES) {
      const impls: Readonly<Record<string, WasiImport>> = group.guest(env);
      for (const [name, decl] of Object.entries(group.imports)) {
        const impl = impls[name];
        if (impl === undefined) throw new Error(`internal: WASI ${name} (${group.name}) has no implementation`);
        const safe = guard(impl as unknown as Imp);
        // Only imports that journal are asyncify imports, and only they may return a promise (a live effect or timer).
        fns[name] = decl.ops.length > 0 ? driver.wrap(safe) : syncOnly(name, safe);
      }
    }
    // Names preview1 does not define answer ENOSYS.
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
