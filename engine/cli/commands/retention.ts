import { UsageError } from "../../kernel/errors.js";
import { parseDuration } from "../../kernel/duration.js";
import { RUN_STATUSES, type RunStatus } from "../../store/types.js";
import { type GlobalOptions, openDwe } from "./context.js";

/** `--older-than` / `--retention`: a duration such as 30d, 12h or 90m. */
export function parseAge(value: string, flag: string, positive = false): number {
  const ms = parseDuration(value);
  if (ms === undefined || (positive && ms === 0))
    throw new UsageError(`bad ${flag} '${value}': expected a duration such as 30d, 12h or 90m (units ms, s, m, h, d)`);
  return ms;
}

function parseStatuses(value: string | undefined): RunStatus[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").map((s) => s.trim());
  for (const s of list) {
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw new UsageError(`bad --status '${s}': use completed, failed or cancelled (comma-separated)`);
    }
  }
  return list as RunStatus[];
}

/** `dwe purge`: deletes final runs (with journals, logs and signals); `--dry-run` lists them. */
export async function purgeCommand(
  flags: GlobalOptions & { status?: string; olderThan?: string; dryRun?: boolean; json?: boolean },
): Promise<number> {
  const statuses = parseStatuses(flags.status);
  const olderThanMs = flags.olderThan === undefined ? undefined : parseAge(flags.olderThan, "--older-than");
  const dwe = await openDwe(flags, false);
  try {
    const out = await dwe.purge({
      ...(statuses && { statuses }),
      ...(olderThanMs !== undefined && { olderThanMs }),
      dryRun: flags.dryRun === true,
    });
    if (flags.json) process.stdout.write(JSON.stringify(out) + "\n");
    else {
      for (const id of out.runs) process.stdout.write(`${id}\n`);
      process.stderr.write(`dwe: ${out.dryRun ? "would delete" : "deleted"} ${out.runs.length} run(s)\n`);
    }
    return 0;
  } finally {
    await dwe.close();
  }
}

/** `dwe delete RUN`: deletes one final run for good. */
export async function deleteCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    await dwe.delete(runId);
    process.stdout.write(flags.json ? JSON.stringify({ deleted: runId }) + "\n" : `${runId} deleted\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}
