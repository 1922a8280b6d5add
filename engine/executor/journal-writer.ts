import { JournalLimitReached, LeaseLost } from "../kernel/errors.js";
import type { Lease, Store } from "../store/types.js";
import type { JournalEntry, LogRecord } from "../journal/entry.js";
import { opName } from "../kernel/ops.js";
import type { Metrics } from "../telemetry/telemetry.js";
import { monotonicMs } from "../kernel/monotonic.js";

/**
 * Payload bytes buffered before a batch is committed regardless of its entry count, so that large
 * results (file reads, random bytes) do not pile up in memory 512 at a time; backpressure starts at
 * 8 times this much buffered or in flight.
 */
export const BATCH_BYTES = 4 * 1024 * 1024;

/** Default caps on one run's journal (`--max-journal-entries`, `--max-journal-bytes`). */
export const DEFAULT_MAX_JOURNAL_ENTRIES = 1_000_000;
export const DEFAULT_MAX_JOURNAL_BYTES = 1024 * 1024 * 1024;

export interface JournalWriterOptions {
  /** Commit once this many entries are buffered. */
  maxBatch: number;
  /** Commit buffered entries at the latest this long after the first was added. */
  maxDelayMs: number;
  /** Called with the log lines of each committed batch, in order (the CLI prints them). */
  onCommitted?: (logs: readonly LogRecord[]) => void;
  /**
   * The lease's time-to-live. With it, `commitBeforeEffect` renews (fenced) a lease whose last
   * renewal by this process's clock is older than 2/3 of it, and refuses the effect if that fails.
   */
  leaseTtlMs?: number;
  /** The run's cap on journal payload and request bytes (all attempts, intents and results), and what it holds already. */
  maxBytes?: { runId: string; limit: number; used: number };
  /** Commit latency, batch sizes and entries written by op go here (default: nowhere). */
  metrics?: Metrics;
}

/**
 * Crash testing only (docs/wasi.md, "Under crashes"): with DWE_TEST_CRASH_AFTER_ENTRY=k the
 * process SIGKILLs itself once journal entry k is committed (and its log lines printed): a batch
 * that holds entry k is cut after it, so the database holds exactly entries 1..k, as if the
 * process had died right after that commit. Read once; unset, it costs one comparison per commit.
 */
const CRASH_AFTER = Number(process.env.DWE_TEST_CRASH_AFTER_ENTRY ?? 0) || 0;

/**
 * Buffers a run's journal entries and commits them in batches. Entries with no effect outside the
 * run are only buffered; callers `commit()` before anything leaves the process. A failed background
 * commit (lease lost, disk full) is rethrown by the next `add` or `commit`.
 */
export class JournalWriter {
  private entries: JournalEntry[] = [];
  private logs: LogRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  /** Batches handed to the store and not yet written, and how many entries they hold. */
  private writes = 0;
  private inFlight = 0;
  /** Payload bytes buffered, and handed to the store and not yet written. */
  private bytes = 0;
  private inFlightBytes = 0;
  /** Payload bytes the run's journal may still take (Infinity: no cap given). */
  private room: number;

  constructor(
    private readonly store: Store,
    private readonly lease: Lease,
    private readonly options: JournalWriterOptions,
  ) {
    const cap = options.maxBytes;
    this.room = cap ? cap.limit - cap.used : Infinity;
  }

  add(entry: JournalEntry, log?: LogRecord): void {
    if (this.failure !== null) throw this.failure;
    const size = entry.payload.length + (entry.request?.length ?? 0);
    if ((this.room -= size) < 0) {
      const cap = this.options.maxBytes!;
      throw new JournalLimitReached(cap.runId, `${cap.limit} bytes`, "--max-journal-bytes");
    }
    this.entries.push(entry);
    this.bytes += size;
    if (log) this.logs.push(log);
    if (this.entries.length >= this.options.maxBatch || this.bytes >= BATCH_BYTES) {
      void this.commit().catch(() => undefined);
    } else if (this.timer === null) {
      this.timer = setTimeout(() => void this.commit().catch(() => undefined), this.options.maxDelayMs);
    }
  }

  /** Makes everything added so far durable (as the store's durability mode defines it). */
  commit(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.entries.length > 0 || this.logs.length > 0) {
      let entries = this.entries;
      let logs = this.logs;
      const crash = CRASH_AFTER > 0 && entries.some((e) => e.seq >= CRASH_AFTER);
      if (crash) {
        entries = entries.filter((e) => e.seq <= CRASH_AFTER);
        logs = logs.filter((l) => l.seq <= CRASH_AFTER);
      }
      const bytes = this.bytes;
      this.entries = [];
      this.logs = [];
      this.bytes = 0;
      this.inFlight += entries.length;
      this.inFlightBytes += bytes;
      const write = async (): Promise<void> => {
        if (this.failure !== null) throw this.failure;
        this.writes++;
        const started = this.options.metrics ? monotonicMs() : 0;
        try {
          await this.store.appendJournal(this.lease, entries, logs);
          if (this.options.metrics) measure(this.options.metrics, entries, monotonicMs() - started);
        } catch (err) {
          this.failure = err;
          throw err;
        } finally {
          this.writes--;
          this.inFlight -= entries.length;
          this.inFlightBytes -= bytes;
        }
        if (logs.length > 0) this.options.onCommitted?.(logs);
        if (crash) process.kill(process.pid, "SIGKILL");
      };
      // With nothing in flight the batch goes to the store now; the store commits it with the other
      // runs' writes of this turn of the event loop (group commit, engine/store/commit-group.ts).
      this.chain = this.writes === 0 ? write() : this.chain.then(write);
    }
    return this.chain;
  }

  /**
   * Commits before an effect leaves the process. The caller has added an entry (the intent, or the
   * intent found in flight, written again), so a write fenced by this attempt's lease token has just
   * succeeded when this resolves. A lease not renewed for 2/3 of its TTL by this process's own clock
   * (the process was paused: GC, SIGSTOP, a frozen VM) is renewed first, fenced too: a paused process
   * never acts on a lease it cannot prove (self-fencing). Throws LeaseLost when either write is refused.
   */
  async commitBeforeEffect(): Promise<void> {
    await this.commit();
    const ttl = this.options.leaseTtlMs;
    if (ttl === undefined || Date.now() < this.lease.expiresAt - ttl / 3) return;
    if (!(await this.store.renewLease(this.lease, ttl))) {
      this.failure = new LeaseLost(this.lease.runId);
      throw this.failure;
    }
  }

  /** True when entries or log lines were added and are not written yet (buffered or in flight). */
  get holdsUnwritten(): boolean {
    return this.entries.length > 0 || this.logs.length > 0 || this.writes > 0;
  }

  /**
   * True when so much is buffered or in flight that the run should wait for the store before
   * journaling more (backpressure: a guest that never yields cannot grow the buffer without bound).
   */
  get backlogged(): boolean {
    return this.entries.length + this.inFlight >= this.options.maxBatch * 8 || this.bytes + this.inFlightBytes >= BATCH_BYTES * 8;
  }

  /** Drops what is buffered (used when a run must be left exactly as it was). */
  discard(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.entries = [];
    this.logs = [];
    this.bytes = 0;
  }
}

/** A committed batch, as metrics: its latency, its size, its entries by op. */
function measure(metrics: Metrics, entries: readonly JournalEntry[], ms: number): void {
  metrics.observe("journal_commit_seconds", ms / 1000);
  if (entries.length === 0) return;
  metrics.observe("journal_commit_entries", entries.length);
  const byOp = new Map<number, number>();
  for (const e of entries) byOp.set(e.op, (byOp.get(e.op) ?? 0) + 1);
  for (const [op, n] of byOp) metrics.count("journal_entries_appended", opName(op), n);
}
