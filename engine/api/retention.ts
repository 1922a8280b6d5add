import { RunNotFound, RunStateError, UsageError } from "../kernel/errors.js";
import { FINAL_STATUSES } from "../store/purge-rules.js";
import { isTerminal, type Store } from "../store/types.js";
import { purgeRuns } from "../worker/retention.js";
import type { PurgeOptions, PurgeOutcome } from "./types.js";

// `Dwe.purge` and `Dwe.delete` (`dwe purge`, `dwe delete`): deleting final runs for good.

export async function purge(store: Store, o: PurgeOptions): Promise<PurgeOutcome> {
  const statuses = o.statuses ?? [...FINAL_STATUSES];
  for (const s of statuses) {
    if (!FINAL_STATUSES.includes(s)) {
      throw new UsageError(`bad --status '${String(s)}': only final runs can be purged: ${FINAL_STATUSES.join(", ")}`);
    }
  }
  if (o.olderThanMs !== undefined && !(Number.isFinite(o.olderThanMs) && o.olderThanMs >= 0)) {
    throw new UsageError(`bad --older-than '${o.olderThanMs}': expected a duration such as 30d or 12h`);
  }
  const dryRun = o.dryRun === true;
  const runs = await purgeRuns(store, {
    statuses,
    ...(o.olderThanMs !== undefined && { finishedBefore: Date.now() - o.olderThanMs }),
    dryRun,
  });
  return { runs, dryRun };
}

export async function deleteRun(store: Store, runId: string): Promise<void> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  if (!isTerminal(run.status)) {
    throw new RunStateError(
      `run ${runId} is ${run.status}; only a completed, failed or cancelled run can be deleted: cancel it first (dwe cancel ${runId})`,
    );
  }
  const deleted = await store.deleteRuns({ ids: [runId], statuses: FINAL_STATUSES });
  if (deleted.length === 1) return;
  const now = await store.getRun(runId);
  if (!now) return; // deleted meanwhile by another purge
  const parent = run.parentId !== null ? await store.getRun(run.parentId) : undefined;
  throw new RunStateError(
    parent
      ? `run ${runId} is a child of run ${parent.id}, which is ${parent.status} and may still read its result; delete it after ${parent.id} ends`
      : `run ${runId} could not be deleted now (another process holds it); try again`,
  );
}
