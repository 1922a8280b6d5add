import type { JournalEntry, LogRecord } from "../journal/entry.js";
import type { Lease, RunEnd } from "./types.js";

// Group commit (docs/architecture.md, "Group commit"): the writes of many runs that become ready
// together share one transaction, and so one fsync (SQLite) or one round trip and one WAL flush per
// statement (PostgreSQL). Both stores send `appendJournal` and `finishRun` through a CommitGroup.

/** One run's write, as a store gives it to its group: an append, or the end of an attempt. */
export type GroupWrite =
  | { kind: "append"; lease: Lease; entries: readonly JournalEntry[]; logs: readonly LogRecord[] }
  | { kind: "finish"; lease: Lease; end: RunEnd };

/**
 * Writes a batch, in order, and says per write what became of it: null (committed) or the error
 * for that write alone (`LeaseLost` for a run fenced out: the others still commit). Throwing
 * means nothing of the batch is known to be committed: every write's waiter gets that error.
 */
export type GroupFlush = (writes: readonly GroupWrite[]) => Promise<readonly unknown[]> | readonly unknown[];

interface Waiter {
  write: GroupWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the writes submitted until the current turn of the event loop ends (setImmediate), or,
 * while a flush is in flight, until it returns, and flushes them as one batch. Writes are flushed
 * in the order they were submitted, so one run's writes keep their order; a run whose previous
 * write has not returned is not written again before it (the JournalWriter waits for each batch).
 */
export class CommitGroup {
  private queue: Waiter[] = [];
  private scheduled = false;
  private flushing = false;
  private drained: (() => void)[] = [];

  constructor(private readonly flush: GroupFlush) {}

  /** Resolves once `write` is committed; rejects with its own error, or with the whole batch's. */
  submit(write: GroupWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or in flight (before the store closes). */
  idle(): Promise<void> {
    if (!this.scheduled && !this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    this.flushing = true;
    try {
      const outcomes = await this.flush(batch.map((w) => w.write));
      batch.forEach((w, i) => {
        const err = outcomes[i];
        if (err === null || err === undefined) w.resolve();
        else w.reject(err);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else for (const done of this.drained.splice(0)) done();
    }
  }
}

/**
 * A batch cut into layers in which each run appears at most once, in order (a statement that
 * writes many runs' rows at once can then not touch a row twice, and a run's second write comes
 * after its first). Usually one layer: a run has one write in flight at a time.
 */
export function layers(writes: readonly GroupWrite[]): number[][] {
  const out: { runs: Set<number>; items: number[] }[] = [];
  writes.forEach((w, i) => {
    // After the last layer holding this run: its earlier writes stay before this one.
    let at = out.length;
    while (at > 0 && !out[at - 1]!.runs.has(w.lease.rid)) at--;
    if (at === out.length) out.push({ runs: new Set(), items: [] });
    out[at]!.runs.add(w.lease.rid);
    out[at]!.items.push(i);
  });
  return out.map((l) => l.items);
}
