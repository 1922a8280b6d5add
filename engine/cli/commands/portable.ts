// `dwe export RUN [-o FILE]` and `dwe import FILE`: move a run between databases (docs/distributed.md).
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "../../kernel/errors.js";
import { type GlobalOptions, openDwe } from "./context.js";
import { describeGrants, grantFlags } from "../../kernel/grants.js";
import { isTerminal } from "../../store/types.js";
import { fileProblem } from "../../api/file-problem.js";

/** Writes the run file to `-o FILE` (atomically) or to stdout. Refuses a run being executed right now. */
export async function exportCommand(runId: string, flags: GlobalOptions & { output?: string }): Promise<number> {
  if (flags.output === undefined && process.stdout.isTTY) {
    throw new UsageError("the run file is binary; redirect stdout (`dwe export RUN > run.dwe`) or pass -o FILE");
  }
  const dwe = await openDwe(flags, false);
  let bytes: Uint8Array;
  try {
    bytes = await dwe.export(runId);
  } finally {
    await dwe.close();
  }
  if (flags.output === undefined) {
    try {
      await new Promise<void>((res, rej) => process.stdout.write(bytes, (err) => (err ? rej(err) : res())));
    } catch (err) {
      // The reader stopped reading (`dwe export RUN | head -c 10`): what it read is its business.
      if ((err as NodeJS.ErrnoException).code === "EPIPE") return 0;
      throw err;
    }
  } else {
    writeAtomically(resolve(flags.output), bytes);
  }
  return 0;
}

/** Writes `bytes` to `path` through a temporary file beside it; a failure names `path`, not the temporary file. */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? `the directory ${dirname(path)} does not exist` : fileProblem(err);
    throw new UsageError(`cannot write -o ${path}: ${why}; pass a file path in an existing, writable directory`);
  }
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
    throw new UsageError(`cannot read ${file}: ${fileProblem(err)}; give a file written by \`dwe export\``);
  }
  const source = file === "-" ? "stdin" : file;
  const dwe = await openDwe(flags, true);
  try {
    const {
      run: imported,
      journalEntries: journal,
      heldGrants,
      waits,
      carried,
    } = await dwe.import(bytes, {
      source,
      ...(flags.grant && { grant: true }),
    });
    const ended = isTerminal(imported.status);
    if (flags.json) {
      const grants = describeGrants(imported.config.grants);
      process.stdout.write(
        `${JSON.stringify({ id: imported.id, status: imported.status, journal_entries: journal, grants, held_grants: heldGrants })}\n`,
      );
    } else {
      process.stdout.write(
        `imported run ${imported.id} (${imported.status}, ${journal} journal entries) into ${dwe.location}` +
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
    await dwe.close();
  }
}
