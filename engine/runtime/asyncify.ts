import { InvalidModule } from "../kernel/errors.js";
import { ABI_SUSPENDING, type AsyncifyDriver, type HostImport } from "../kernel/asyncify.js";
import { PREVIEW1_SUSPENDING } from "../../host-functions/wasi/interfaces.js";
import { monotonicMs } from "../kernel/monotonic.js";

/**
 * Lets a synchronous guest wait on asynchronous host work (HTTP, commands, sleeps) without a thread
 * per run: binaryen's asyncify pass instruments the module so its stack can be unwound at an async
 * import and rewound when the promise settles. Many runs then share one thread. See
 * docs/architecture.md ("Concurrency model") for why this was chosen over worker threads per run.
 */

/**
 * Imports that may suspend the guest: the dwe ABI's and the WASI imports that journal, as each
 * declares (host-functions/wasi/interface.ts). Everything else is answered synchronously.
 */
export const ASYNC_IMPORTS: readonly string[] = [...ABI_SUSPENDING, ...PREVIEW1_SUSPENDING];

/** Artifact kind under which the transformed module is cached in the store. Bump on changes. */
export const ASYNCIFY_ARTIFACT = "asyncify-v3";

const STATE_UNWINDING = 1;
const STATE_REWINDING = 2;

/** Size of the scratch region asyncify saves the guest's stack into while it is suspended. */
const DATA_BYTES = 64 * 1024;

/**
 * The guest bytes of the region, set aside from the start of an unwind (or rewind) until its end.
 * Both are synchronous (no other instance runs in between), so one buffer serves every instance of
 * the thread and a waiting run keeps only its saved stack. `scratchOwner` is the driver whose guest
 * bytes the buffer holds: only that driver may copy them back, and only as many as it put there, so
 * no byte of one run ever lands in another run's memory, whatever its code does.
 */
const SCRATCH = new Uint8Array(DATA_BYTES);
let scratchOwner = 0;
let drivers = 0;

/**
 * Export names the engine calls on an instance besides the entry and `memory`: binaryen's asyncify
 * functions. A guest export with such a name is refused, never trusted (docs/security.md).
 */
const ENGINE_EXPORT_PREFIX = "asyncify_";

/** Refuses a module whose exports would collide with the functions dwe adds when it instruments it. */
export function checkEngineExports(exportNames: readonly string[], name: string): void {
  const clash = exportNames.find((n) => n.startsWith(ENGINE_EXPORT_PREFIX));
  if (clash !== undefined) {
    throw new InvalidModule(
      `${name} exports '${clash}': names starting with '${ENGINE_EXPORT_PREFIX}' are reserved for dwe's own instrumentation ` +
        `(dwe instruments modules itself); build the module without asyncify and rename that export`,
    );
  }
}

/**
 * The guest gets a turn of the event loop at least this often while its calls settle at once (a
 * loop of `sleep 0`): messages (cancel, shutdown), timers and other runs of the thread are served.
 */
const YIELD_EVERY_MS = 10;
let lastYield = 0;

export async function asyncifyModule(bytes: Uint8Array): Promise<Uint8Array> {
  const { default: binaryen } = await import("binaryen");
  let mod: ReturnType<typeof binaryen.readBinary>;
  try {
    mod = binaryen.readBinary(bytes);
  } catch (err) {
    throw new InvalidModule(`binaryen cannot read the module to instrument it: ${(err as Error).message}`, { cause: err });
  }
  try {
    // What Node 20's V8 (11.3) runs; binaryen then emits nothing newer (e.g. compact imports).
    const F = binaryen.Features;
    mod.setFeatures(
      F.MVP |
        F.MutableGlobals |
        F.NontrappingFPToInt |
        F.SIMD128 |
        F.BulkMemory |
        F.BulkMemoryOpt |
        F.SignExt |
        F.ReferenceTypes |
        F.Multivalue |
        F.TailCall |
        F.CallIndirectOverlong,
    );
    binaryen.setPassArgument("asyncify-imports", ASYNC_IMPORTS.join(","));
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(1);
    mod.runPasses(["asyncify"]);
    mod.optimize();
    return mod.emitBinary();
  } catch (err) {
    throw new InvalidModule(`cannot instrument the module for suspension (asyncify): ${(err as Error).message}`, { cause: err });
  } finally {
    mod.dispose();
  }
}

/** Whether a module has imports that may suspend it: such a module is always instrumented by dwe. */
export function needsAsyncify(module: WebAssembly.Module): boolean {
  const async = new Set<string>(ASYNC_IMPORTS);
  return WebAssembly.Module.imports(module).some((i) => async.has(`${i.module}.${i.name}`));
}

interface AsyncifyExports {
  asyncify_start_unwind(addr: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(addr: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

/**
 * Drives one instance: wraps async-capable imports and calls exports until they really return.
 * The stack is saved in a region of the guest's own memory whose previous content is set aside and
 * put back before any guest code runs again, so no guest cooperation is needed.
 */
export class AsyncifyInstanceDriver implements AsyncifyDriver {
  /** Who owns the save area's bytes (`scratchOwner`); never 0. */
  private readonly id = ++drivers;
  private exports: AsyncifyExports | null = null;
  private memory: WebAssembly.Memory | null = null;
  private pending: Promise<number | bigint> | null = null;
  private resolved: number | bigint = 0;
  private base = 0;
  private limit = 0;
  /** Bytes of the region set aside in SCRATCH during a rewind. */
  private saved = 0;
  /** The guest's saved stack while it waits: the part of the region asyncify wrote. */
  private stack: Uint8Array | null = null;

  /**
   * The asyncify exports are taken from the instance: they can only be binaryen's, since modules
   * exporting such names are refused (checkEngineExports) before and at every load.
   */
  bind(instance: WebAssembly.Instance, memory: WebAssembly.Memory): void {
    const e = instance.exports as unknown as Partial<AsyncifyExports>;
    this.exports = typeof e.asyncify_get_state === "function" ? (e as AsyncifyExports) : null;
    this.memory = memory;
  }

  /** Wraps a host import: a promise it returns suspends the guest until the promise settles. */
  wrap(fn: HostImport): (...args: number[]) => number | bigint {
    return (...args: number[]) => {
      const ex = this.exports;
      if (ex !== null && ex.asyncify_get_state() === STATE_REWINDING) {
        ex.asyncify_stop_rewind();
        this.restoreRegion();
        return this.resolved;
      }
      const r = fn(...args);
      if (typeof r === "number" || typeof r === "bigint") return r;
      if (ex === null) throw new Error("internal: async host call in a module without asyncify");
      this.pending = r;
      this.startUnwind(ex);
      return 0;
    };
  }

  /** Calls an export, awaiting every async host call it makes, until it returns. */
  async call(fn: () => unknown): Promise<void> {
    fn();
    const ex = this.exports;
    while (ex !== null && ex.asyncify_get_state() === STATE_UNWINDING) {
      ex.asyncify_stop_unwind();
      this.finishUnwind();
      const pending = this.pending!;
      this.pending = null;
      this.resolved = await pending;
      const now = monotonicMs();
      if (now - lastYield >= YIELD_EVERY_MS) {
        lastYield = now;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.startRewind(ex);
      fn();
    }
  }

  private startUnwind(ex: AsyncifyExports): void {
    const mem = new Uint8Array(this.memory!.buffer);
    const size = Math.min(DATA_BYTES, mem.length);
    this.base = mem.length - size;
    this.limit = size;
    // How much of the region asyncify will use is known only after the unwind: set all of it aside.
    SCRATCH.set(mem.subarray(this.base, this.base + size));
    scratchOwner = this.id;
    const view = new DataView(this.memory!.buffer);
    view.setUint32(this.base, this.base + 8, true);
    view.setUint32(this.base + 4, this.base + size, true);
    ex.asyncify_start_unwind(this.base);
  }

  private finishUnwind(): void {
    const mem = new Uint8Array(this.memory!.buffer);
    // Asyncify wrote [base, end): keep only that (usually a few hundred bytes) and put the guest's bytes back.
    const end = new DataView(this.memory!.buffer).getUint32(this.base, true);
    const used = end >= this.base + 8 && end <= this.base + this.limit ? end - this.base : this.limit;
    this.stack = mem.slice(this.base, this.base + used);
    this.takeScratchBack();
    mem.set(SCRATCH.subarray(0, used), this.base);
  }

  private startRewind(ex: AsyncifyExports): void {
    const mem = new Uint8Array(this.memory!.buffer);
    const used = this.stack!.length;
    SCRATCH.set(mem.subarray(this.base, this.base + used));
    scratchOwner = this.id;
    this.saved = used;
    mem.set(this.stack!, this.base);
    this.stack = null;
    ex.asyncify_start_rewind(this.base);
  }

  private restoreRegion(): void {
    this.takeScratchBack();
    new Uint8Array(this.memory!.buffer).set(SCRATCH.subarray(0, this.saved), this.base);
    this.saved = 0;
  }

  /** The buffer must still hold this instance's bytes; after this, nobody's (they are copied back). */
  private takeScratchBack(): void {
    if (scratchOwner !== this.id) throw new Error("internal: the asyncify save area does not hold this run's bytes; the run is stopped");
    scratchOwner = 0;
  }
}
