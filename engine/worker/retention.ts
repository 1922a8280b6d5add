import { FINAL_STATUSES } from "../store/purge-rules.js";
import type { RunDeletion, Store } from "../store/types.js";

// Retention: deleting final runs with their journals, logs and signals (`dwe purge`, `dwe delete`,
// `dwe worker --retention`; docs/worker.md, "Retention").

/** Deletes every run `which` selects, a batch (one short transaction) at a time; returns their ids. */
export async function purgeRuns(store: Store, which: Omit<RunDeletion, "limit" | "ids">): Promise<string[]> {
  if (which.dryRun === true) return store.deleteRuns({ ...which, limit: Number.MAX_SAFE_INTEGER });
  const all: string[] = [];
  for (;;) {
    const batch = await store.deleteRuns(which);
    all.push(...batch);
    if (batch.length === 0) return all;
  }
}

/** How often a worker with `--retention` looks for runs to delete. */
export const RETENTION_SWEEP_MS = 60_000;

/**
 * A worker's retention: on its first poll and then every RETENTION_SWEEP_MS, deletes the final runs
 * that finished more than `retentionMs` ago. A failed sweep is logged and tried again next time; a
 * sweep never overlaps the previous one.
 */
export class RetentionSweep {
  private nextAt = 0;
  private running = false;

  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Called on every poll of the worker; starts a sweep when one is due. */
  poll(now: number): void {
    if (this.running || now < this.nextAt) return;
    this.running = true;
    this.nextAt = now + RETENTION_SWEEP_MS;
    purgeRuns(this.store, { statuses: FINAL_STATUSES, finishedBefore: now - this.retentionMs })
      .then(
        (ids) => {
          if (ids.length > 0)
            this.log(`retention: deleted ${ids.length} run(s) that ended before ${new Date(now - this.retentionMs).toISOString()}`);
        },
        (err: unknown) => this.log(`retention: could not delete old runs: ${(err as Error).message}`),
      )
      .finally(() => {
        this.running = false;
      });
  }
}
