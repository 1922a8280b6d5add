// `dwe export RUN [-o FILE]` and `dwe import FILE`: move a run between databases (docs/distributed.md).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { RunNotFound, RunStateError, UsageError } from "../../errors.js";
import { decodeRunFile, encodeRunFile } from "../../portable/run-file.js";
import { liveLeaseHolder } from "../../store/lease-owner.js";
import { type GlobalOptions, openStore } from "../context.js";

/** Writes the run file to `-o FILE` (atomically) or to stdout. Refuses a run being executed right now. */
export async function exportCommand(runId: string, flags: GlobalOptions & { output?: string }): Promise<number> {
  if (flags.output === undefined && process.stdout.isTTY) {
    throw new UsageError("the run file is binary; redirect stdout (`dwe export RUN > run.dwe`) or pass -o FILE");
  }
  const store = openStore(flags, false);
  let bytes: Uint8Array;
  try {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    const holder = run.status === "running" ? liveLeaseHolder(run, Date.now()) : null;
    if (holder !== null) {
      throw new RunStateError(
        `run ${runId} is being executed by ${holder}; ` +
          `stop that process (or wait for the lease to expire) before exporting, so the run is not continued in two places`,
      );
    }
    bytes = encodeRunFile(await store.exportRun(runId));
  } finally {
    await store.close();
  }
  if (flags.output === undefined) {
    await new Promise<void>((res, rej) => process.stdout.write(bytes, (err) => (err ? rej(err) : res())));
  } else {
    const path = resolve(flags.output);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  }
  return 0;
}

/** Reads and checks the file before touching the database; one transaction imports it. */
export async function importCommand(file: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = file === "-" ? readFileSync(0) : readFileSync(resolve(file));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const bundle = decodeRunFile(bytes, file === "-" ? "stdin" : file);
  const store = openStore(flags, true);
  try {
    const run = await store.importRun(bundle);
    const journal = bundle.journal.length;
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ id: run.id, status: run.status, journal_entries: journal })}\n`
        : `imported run ${run.id} (${run.status}, ${journal} journal entries) into ${store.location}` +
            (run.status === "completed" || run.status === "failed" || run.status === "cancelled"
              ? "\n"
              : `; continue it with \`dwe resume ${run.id}\`\n`),
    );
    return 0;
  } finally {
    await store.close();
  }
}
