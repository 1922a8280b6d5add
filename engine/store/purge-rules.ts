import { UsageError } from "../kernel/errors.js";
import { RUN_STATUSES, isTerminal, type RunDeletion, type RunStatus } from "./types.js";

// What `deleteRuns` may delete, once for both stores (each runs the SQL these rules describe).

/** The statuses a run can be deleted in: the final ones. */
export const FINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter(isTerminal);

/** Most runs one `deleteRuns` call deletes (a dry run lists any number), so one transaction stays short; callers loop. */
export const DELETE_BATCH = 500;

/** The checked selection: final statuses only, a sane limit and time. Refused (UsageError) otherwise. */
export function checkDeletion(which: RunDeletion): Required<Pick<RunDeletion, "statuses" | "limit">> & RunDeletion {
  if (which.statuses.length === 0) throw new UsageError("no status to delete runs in: give completed, failed or cancelled");
  for (const s of which.statuses) {
    if (!isTerminal(s)) {
      throw new UsageError(`a ${s} run cannot be deleted: only ${FINAL_STATUSES.join(", ")} runs are (cancel it first)`);
    }
  }
  const limit = which.limit ?? DELETE_BATCH;
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new UsageError(`bad limit ${limit}: expected a positive whole number`);
  if (which.finishedBefore !== undefined && !Number.isFinite(which.finishedBefore)) {
    throw new UsageError("bad time to delete runs before: not a number");
  }
  return { ...which, statuses: [...new Set(which.statuses)], limit: which.dryRun === true ? limit : Math.min(limit, DELETE_BATCH) };
}
