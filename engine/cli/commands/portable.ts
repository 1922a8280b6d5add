// `dwe export RUN [-o FILE]` and `dwe import FILE`: move a run between databases (docs/distributed.md).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { RunNotFound, RunStateError, UsageError } from "../../kernel/errors.js";
import { decodeRunFile, encodeRunFile } from "../../portable/run-file.js";
import { liveLeaseHolder } from "../../store/lease-owner.js";
import { type GlobalOptions, dbPath, openStore } from "../context.js";
import { NO_GRANTS, describeGrants, grantFlags } from "../../kernel/grants.js";
import { refuseGrantsOverDweFiles } from "../../executor/dwe-files.js";
import { isTerminal } from "../../store/types.js";

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

/**
 * Reads and checks the file before touching the database; one transaction imports it. A run file is
 * untrusted (anyone can write one), so the grants it carries are held back: the run is imported with
 * none unless `--grant` confirms them, as `dwe resume --grant` confirms widening.
 */
export async function importCommand(file: string, flags: GlobalOptions & { json?: boolean; grant?: boolean }): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = file === "-" ? readFileSync(0) : readFileSync(resolve(file));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const bundle = decodeRunFile(bytes, file === "-" ? "stdin" : file);
  const carried = bundle.run.config.grants;
  const held = !flags.grant && describeGrants(carried).length > 0;
  if (flags.grant) refuseGrantsOverDweFiles(carried, dbPath(flags));
  // A file cannot attach its run to a run of this database (a parent would take its output as a child's).
  let run = { ...bundle.run, parentId: null, config: { ...bundle.run.config, grants: held ? NO_GRANTS : carried } };
  // A run whose grants are held back waits for the user (suspended, no wake time: no worker claims it)
  // rather than being executed without them at once; its journal keeps any durable sleep's deadline.
  const waits = held && !isTerminal(run.status);
  if (waits) run = { ...run, status: "suspended", wakeAt: null, wakeRequested: false };
  const store = openStore(flags, true);
  try {
    const imported = await store.importRun({ ...bundle, run });
    const journal = bundle.journal.length;
    const ended = isTerminal(imported.status);
    if (flags.json) {
      const grants = describeGrants(imported.config.grants);
      process.stdout.write(
        `${JSON.stringify({ id: imported.id, status: imported.status, journal_entries: journal, grants, held_grants: held ? describeGrants(carried) : [] })}\n`,
      );
    } else {
      process.stdout.write(
        `imported run ${imported.id} (${imported.status}, ${journal} journal entries) into ${store.location}` +
          (ended ? "\n" : `; continue it with \`dwe resume ${imported.id}\`\n`),
      );
    }
    if (waits && !flags.json) {
      process.stderr.write(
        `dwe: run ${imported.id} was imported without the grants its file carries (${describeGrants(carried).join("; ")}); ` +
          `it has none and waits, suspended. Check them, then give them with ` +
          `\`dwe resume ${imported.id} --grant ${grantFlags(carried).join(" ")}\` (or \`dwe resume ${imported.id}\` runs it without them)\n`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
