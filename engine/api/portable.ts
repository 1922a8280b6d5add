// Moving a run between databases (`dwe export` / `dwe import`, docs/distributed.md).
import { RunNotFound, RunStateError } from "../kernel/errors.js";
import { decodeRunFile, encodeRunFile } from "../portable/run-file.js";
import { liveLeaseHolder } from "../store/lease-owner.js";
import { NO_GRANTS, describeGrants } from "../kernel/grants.js";
import { refuseGrantsOverDweFiles } from "../executor/dwe-files.js";
import { isTerminal, type Store } from "../store/types.js";
import type { Grants } from "../kernel/grants.js";
import { runInfo } from "./run-info.js";
import type { RunInfo } from "./types.js";

/** The run file of a run. Refuses a run being executed right now (it would go on in two places). */
export async function exportRun(store: Store, runId: string): Promise<Uint8Array> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  const holder = run.status === "running" ? liveLeaseHolder(run, Date.now()) : null;
  if (holder !== null) {
    throw new RunStateError(
      `run ${runId} is being executed by ${holder}; ` +
        `stop that process (or wait for the lease to expire) before exporting, so the run is not continued in two places`,
    );
  }
  return encodeRunFile(await store.exportRun(runId));
}

export interface ImportOptions {
  /** Give the run the grants its file carries (default false: held back, the run has none). */
  grant?: boolean;
  /** Where the bytes came from, for messages (default "run file"). */
  source?: string;
}

export interface ImportOutcome {
  run: RunInfo;
  journalEntries: number;
  /** The grants the file carries, held back (empty when given with `grant` or when there were none). */
  heldGrants: string[];
  /** Held-back grants of a run that had not ended: it waits, suspended, until resumed. */
  waits: boolean;
  /** The grants the file carries, as data (for `dwe resume --grant` flags). */
  carried: Grants;
}

/**
 * Imports a run file: checked in full before the database is touched, one transaction. A run file is
 * untrusted (anyone can write one), so the grants it carries are held back unless `grant` confirms them.
 */
export async function importRun(store: () => Store, bytes: Uint8Array, o: ImportOptions, db: string): Promise<ImportOutcome> {
  const bundle = decodeRunFile(bytes, o.source ?? "run file");
  const carried = bundle.run.config.grants;
  const held = !o.grant && describeGrants(carried).length > 0;
  if (o.grant) refuseGrantsOverDweFiles(carried, db);
  // A file cannot attach its run to a run of this database (a parent would take its output as a child's).
  let run = { ...bundle.run, parentId: null, config: { ...bundle.run.config, grants: held ? NO_GRANTS : carried } };
  // A run whose grants are held back waits for the user (suspended, no wake time: no worker claims it)
  // rather than being executed without them at once; its journal keeps any durable sleep's deadline.
  const waits = held && !isTerminal(run.status);
  if (waits) run = { ...run, status: "suspended", wakeAt: null, wakeRequested: false };
  // Only now, with the file checked, is the database opened (or created).
  const imported = await store().importRun({ ...bundle, run });
  return { run: runInfo(imported), journalEntries: bundle.journal.length, heldGrants: held ? describeGrants(carried) : [], waits, carried };
}
