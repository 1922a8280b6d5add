// An attempt's parts, built once, the same way for executing a run (run-executor.ts, which a
// worker's executor thread and `dwe run --timeout`'s thread use too) and for verifying it
// (verify-run.ts): the run's journal read once, its code (a core module or a component), and the
// host functions its imports are answered by.
import type { JournalEntry } from "../journal/entry.js";
import type { HostFunction } from "../kernel/host-function.js";
import type { LoadedComponent } from "../runtime/component-loader.js";
import { loadExecutable } from "../runtime/module-loader.js";
import { OnceByKey } from "../runtime/once-by-key.js";
import type { RunRecord, Store } from "../store/types.js";
import { HOST_FUNCTIONS } from "../../host-functions/registry.js";
import { WasiHost } from "../../host-functions/wasi/preview1.js";

/** What runs: a core module (asyncify, on this thread) or a component (in a thread of its own). */
export type Guest = { module: WebAssembly.Module; component?: undefined } | { component: LoadedComponent; module?: undefined };

export interface PreparedAttempt {
  run: RunRecord;
  /** The run's journal as recorded, every entry's checksum checked. */
  journal: JournalEntry[];
  guest: Guest;
  /** The run's WASI state (fd table, clock floor), rebuilt by replay; `close` it when the attempt ends. */
  wasi: WasiHost;
  /** The host functions the guest's imports are answered by (the dwe ABI's, and WASI's for its kind). */
  functions: ReadonlyMap<string, HostFunction<never>>;
}

/**
 * Module kinds by sha256, read once per process (modules are content-addressed, so a kind never
 * changes); a worker starts many runs of one module at once, and each read brings the module's bytes.
 */
const kinds = new OnceByKey<string>(true);
const MISSING = new Error("module missing");

/** A missing module's kind is unknown (not remembered: it may be stored later); loading it says why. */
function moduleKind(store: Store, sha: string): Promise<string | undefined> {
  const read = kinds.get(sha, async () => {
    const m = await store.getModule(sha);
    if (m === undefined) throw MISSING;
    return m.kind;
  });
  return read.catch((err: unknown) => {
    if (err === MISSING) return undefined;
    throw err;
  });
}

/**
 * Reads the run's journal (CorruptJournal when a row is damaged), then loads its code: the run's
 * own module, or `module` (a stored sha256: `dwe resume --upgrade`). `journal`: the journal read
 * already, still current (not read again).
 */
export async function prepareAttempt(
  store: Store,
  run: RunRecord,
  o: { module?: string | undefined; journal?: JournalEntry[] | undefined } = {},
): Promise<PreparedAttempt> {
  const journal = o.journal ?? (await store.readJournal(run.rid));
  const sha = o.module ?? run.module;
  const wasi = new WasiHost(run);
  if ((await moduleKind(store, sha)) === "component") {
    // The component path (jco's artifact, WASI 0.2) is loaded only by a process that runs one.
    const [{ loadComponent }, { componentHostFunctions }] = await Promise.all([
      import("../runtime/component-loader.js"),
      import("../../host-functions/wasi-p2/host-functions.js"),
    ]);
    return { run, journal, guest: { component: await loadComponent(store, sha) }, wasi, functions: componentHostFunctions() };
  }
  const guest: Guest = { module: await loadExecutable(store, sha, run.config.maxMemoryBytes) };
  return { run, journal, guest, wasi, functions: wasi.withFunctions(HOST_FUNCTIONS) };
}
