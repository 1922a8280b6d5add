import { DweError, ProgramExit } from "../kernel/errors.js";
import { AsyncifyInstanceDriver } from "../runtime/asyncify.js";
import { instantiate } from "../runtime/memory-pool.js";
import type { LoadedComponent } from "../runtime/component-loader.js";
import type { RunRecord } from "../store/types.js";
import type { WasiHost } from "../../host-functions/wasi/preview1.js";
import { abiImports } from "./abi-imports.js";
import type { Dispatcher } from "./dispatcher.js";
import type { CheckedGuestMemory } from "./guest-memory.js";

/** What a guest needs to run: its code (a core module or a component) and the run's host state. */
export interface GuestRun {
  run: RunRecord;
  dispatcher: Dispatcher;
  wasi: WasiHost;
  memory: CheckedGuestMemory;
  module?: WebAssembly.Module | undefined;
  component?: LoadedComponent | undefined;
  signal: AbortSignal;
  debug: (line: string) => void;
  /** Told when the guest's own code starts (true) and stops (false) running on this thread. */
  onGuest?: ((running: boolean) => void) | undefined;
  /** Called once the entry function has returned (or exited with code 0), before the end checks. */
  onReturned?: () => void;
}

/** Whether a module imports anything from `wasi_snapshot_preview1`, by module (compiled modules are cached and reused). */
const wasiImporters = new WeakMap<WebAssembly.Module, boolean>();

function importsWasi(module: WebAssembly.Module): boolean {
  let known = wasiImporters.get(module);
  if (known === undefined) {
    known = WebAssembly.Module.imports(module).some((i) => i.module === "wasi_snapshot_preview1");
    wasiImporters.set(module, known);
  }
  return known;
}

/**
 * Runs a run's entry to its end, the same way for execution and for verification: instantiates the
 * guest, calls its entry (awaiting every async host call), journals a last unfinished stdout line,
 * and checks that the journal was consumed (`Dispatcher.finish`). Whatever stops the guest (Suspend,
 * a trap, divergence, a non-zero `proc_exit`) is thrown to the caller.
 */
export async function runGuestToEnd(g: GuestRun): Promise<void> {
  const { dispatcher, wasi, memory } = g;
  if (g.component) {
    // A component runs in a worker thread; its host calls come back to this dispatcher.
    const { runComponent } = await import("../runtime/component-host.js");
    await runComponent({ component: g.component, run: g.run, dispatcher, signal: g.signal });
    g.onReturned?.();
    await dispatcher.finish();
    return;
  }
  const driver = new AsyncifyInstanceDriver();
  const imports: WebAssembly.Imports = abiImports(memory, dispatcher, driver, g.debug);
  // The WASI import object costs more to build than the rest of the setup: only for modules that use it.
  if (importsWasi(g.module!)) imports.wasi_snapshot_preview1 = wasi.imports(memory, dispatcher, driver);
  // Synchronous: the module is compiled already, and an async instantiation costs a trip through the event loop.
  const { instance, release } = instantiate(g.module!, imports);
  try {
    await runInstance(g, instance, driver);
  } finally {
    // Nothing runs in the instance any more: its memory may go to the next one.
    memory.unbind();
    release();
  }
}

async function runInstance(g: GuestRun, instance: WebAssembly.Instance, driver: AsyncifyInstanceDriver): Promise<void> {
  const { dispatcher, wasi, memory } = g;
  const mem = instance.exports.memory;
  if (!(mem instanceof WebAssembly.Memory)) throw new DweError("invalid_module", "the module does not export its memory as 'memory'");
  memory.bind(mem);
  driver.bind(instance, mem);
  const entry = instance.exports[g.run.entry];
  if (typeof entry !== "function") throw new DweError("invalid_module", `the module has no exported function '${g.run.entry}'`);
  const onGuest = g.onGuest;
  const call = onGuest
    ? () => {
        onGuest(true);
        try {
          return (entry as () => unknown)();
        } finally {
          onGuest(false);
        }
      }
    : () => (entry as () => unknown)();
  try {
    await driver.call(call);
  } catch (err) {
    if (!(err instanceof ProgramExit)) throw err;
    await wasi.flushStdio(dispatcher);
    if (err.status !== 0) throw err;
  }
  // A last stdout/stderr line without a newline is journaled once the program has ended.
  await wasi.flushStdio(dispatcher);
  g.onReturned?.();
  await dispatcher.finish();
}
