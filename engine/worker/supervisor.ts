// The main thread of `dwe worker`: claims due runs from the store, hands them to a pool of attempt
// threads (engine/executor/attempt-thread.ts, which stops guests past their timeout or the
// watchdog), renews their leases, fires schedules, and shuts down cleanly on SIGTERM/SIGINT.
// See docs/worker.md.
import { describeError, ThreadCrashed } from "../kernel/errors.js";
import type { ClaimedRun, Lease, LeaseCheck, RunEnd, RunError, RunStatus, Store, WorkerSession } from "../store/types.js";
import { AttemptEnd, released } from "../executor/run-end.js";
import { LeaseHeartbeat } from "../executor/lease-heartbeat.js";
import { AttemptThread, type AttemptThreadEvent, type ThreadExit } from "../executor/attempt-thread.js";
import { StopFlag } from "../executor/attempt-thread-protocol.js";
import type { MetricsSink } from "../telemetry/telemetry.js";
import { monotonicMs } from "../kernel/monotonic.js";

export interface SupervisorOptions {
  store: Store;
  db: string;
  durability: "process" | "fsync";
  owner: string;
  cwd: string;
  /** Runs executing at once, over all threads. */
  concurrency: number;
  threads: number;
  leaseTtlMs: number;
  pollMs: number;
  suspendAfterMs: number;
  /** Guest code running this long without a host call is stopped even without --timeout. */
  watchdogMs: number;
  /** On shutdown: how long runs get to reach their next host call before in-flight effects are aborted. */
  graceMs: number;
  /** Attempts in a row that crash outside guest code after which a run fails (a poison run). */
  maxCrashes: number;
  /**
   * Fault injection for tests (DWE_TEST_STOP_AFTER_CLAIM=1): the process stops itself (SIGSTOP) once,
   * right after its first claim that took a run and before handing it to a thread.
   */
  stopAfterClaim?: boolean;
  /** Extra work each poll (schedules). */
  onPoll?: (now: number) => Promise<void>;
  log: (line: string) => void;
  /** The process's metrics registry: claims and the ends this side writes are recorded, the threads' reports added. */
  metrics?: MetricsSink;
}

interface Assigned {
  job: number;
  lease: Lease;
  /** Writes the run's end when this side ends the attempt (its thread was replaced, or the worker stopped). */
  ending: AttemptEnd;
  previous: RunStatus;
  wakeAt: number | null;
  timeoutMs: number | null;
  /** Attempts in a row before this one that crashed outside guest code. */
  crashes: number;
  slot: Slot;
}

interface Slot {
  index: number;
  thread: AttemptThread;
  jobs: Set<number>;
  /**
   * A thread of its own for one run whose last attempt crashed (outside the pool, ended with it),
   * so that a further crash is blamed on that run alone, not on runs that shared its thread.
   */
  isolated: boolean;
}

export class Supervisor {
  private readonly slots: Slot[] = [];
  private readonly isolated = new Set<Slot>();
  private readonly jobs = new Map<number, Assigned>();
  private nextJob = 1;
  private draining = false;
  /** Set with `draining`, in memory the threads read synchronously (see StopFlag). */
  private readonly stopping = new StopFlag();
  private timers: NodeJS.Timeout[] = [];
  private readonly heartbeat: LeaseHeartbeat<Assigned>;
  private polling = false;
  /** When the event loop last ran a poll or watch tick, and from when expired leases may be taken again. */
  private lastTick = Date.now();
  private takeOverFrom = 0;
  private stopOnce: boolean;
  private idle: (() => void) | null = null;
  private session: WorkerSession | null = null;
  /** The worker's database session is gone (PostgreSQL): its runs may be taken at once; claim nothing. */
  private sessionLost = false;
  private stopped!: () => void;
  private readonly done = new Promise<void>((r) => (this.stopped = r));

  constructor(private readonly o: SupervisorOptions) {
    this.stopOnce = o.stopAfterClaim ?? false;
    this.heartbeat = new LeaseHeartbeat<Assigned>({
      store: o.store,
      ttlMs: o.leaseTtlMs,
      held: () => [...this.jobs.values()],
      onChecked: (checked) => this.onRenewed(checked),
      onError: (err) => this.o.log(`renewing leases failed (will retry): ${describeError(err).message}`),
    });
  }

  /** Starts the threads and the loops; resolves when `shutdown` has finished. */
  async run(): Promise<void> {
    // Held before the first claim: another worker that sees it gone takes its runs at once.
    this.session = await this.o.store.openWorkerSession(this.o.owner, {
      onWake: () => void this.poll(),
      onLost: () => this.onSessionLost(),
      onRestored: () => {
        this.sessionLost = false;
        this.o.log("database session restored: claiming again");
        void this.poll();
      },
    });
    for (let i = 0; i < this.o.threads; i++) this.slots.push(this.spawn(i));
    // Nothing is claimed before the threads can execute it.
    await Promise.all(this.slots.map((s) => s.thread.ready));
    if (this.draining) {
      await this.done;
      return;
    }
    this.timers.push(setInterval(() => void this.poll(), this.o.pollMs));
    this.heartbeat.start();
    this.timers.push(setInterval(() => this.tick(Date.now()), 50));
    void this.poll();
    await this.done;
  }

  /** The pool's threads and the isolated ones. */
  private allSlots(): Slot[] {
    return [...this.slots, ...this.isolated];
  }

  private spawn(index: number, isolated = false): Slot {
    const slot: Slot = { index, thread: null as unknown as AttemptThread, jobs: new Set(), isolated };
    slot.thread = new AttemptThread({
      db: this.o.db,
      durability: this.o.durability,
      attempt: { owner: this.o.owner, cwd: this.o.cwd, leaseTtlMs: this.o.leaseTtlMs, suspendAfterMs: this.o.suspendAfterMs },
      failOnEngineError: true,
      metrics: this.o.metrics !== undefined,
      stopping: this.stopping,
      watchdogMs: this.o.watchdogMs,
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
      on: (e) => this.onEvent(slot, e),
    });
    return slot;
  }

  private onEvent(slot: Slot, e: AttemptThreadEvent): void {
    if (e.type === "metrics") this.o.metrics?.apply(e.delta);
    else if (e.type === "exit") void this.onExit(slot, e);
    else if (e.type === "ended") this.onDone(e.job, e.outcome.status, e.outcome.error);
    else if (e.type === "failed") {
      // A lost lease wrote nothing; anything else is not an outcome of the guest (module missing
      // or invalid, store error): the attempt failed the run (failOnEngineError) rather than leave
      // it to be claimed again and again.
      if (e.error.disposition === "fenced") this.onDone(e.job, "lease_lost", null);
      else this.onDone(e.job, "error", { code: e.error.code, message: e.error.message });
    }
  }

  private onDone(job: number, status: RunStatus | "lease_lost" | "error", error: { code: string; message: string } | null): void {
    const a = this.jobs.get(job);
    if (!a) return;
    this.jobs.delete(job);
    a.slot.jobs.delete(job);
    if (a.slot.isolated) this.retire(a.slot);
    const detail = error ? `: ${error.code}: ${error.message}` : "";
    this.o.log(`run ${a.lease.runId} ${status === "lease_lost" ? "lost its lease (another worker took it)" : status}${detail}`);
    if (this.jobs.size === 0) this.idle?.();
    // Claim again once a batch of slots is free (or nothing runs), not after every run: each claim is a
    // write transaction that searches the due runs, and the poll timer picks up any stragglers.
    if (!this.draining && (this.jobs.size === 0 || this.o.concurrency - this.jobs.size >= this.claimBatch)) void this.poll();
  }

  /** Free slots worth a claim between polls: 1 at low concurrency, 1/16 of it when high. */
  private get claimBatch(): number {
    return Math.max(1, Math.floor(this.o.concurrency / 16));
  }

  /**
   * Other workers may take this worker's runs as soon as its session is gone: every run is stopped
   * now (effects in flight aborted, as after a crash) and given back, and nothing is claimed until
   * the session is back. Writes its runs still try are fenced.
   */
  private onSessionLost(): void {
    this.sessionLost = true;
    this.o.log(`lost its database session: giving back its ${this.jobs.size} run(s) and claiming nothing until it is back`);
    for (const s of this.allSlots()) s.thread.abort(null, { kind: "shutdown", signal: "SIGTERM" });
  }

  private async poll(): Promise<void> {
    if (this.polling || this.draining || this.sessionLost) return;
    this.polling = true;
    try {
      const now = Date.now();
      if (this.o.onPoll) await this.o.onPoll(now);
      const free = this.o.concurrency - this.jobs.size;
      if (free <= 0) return;
      this.tick(now);
      const started = monotonicMs();
      const claimed = await this.o.store.claimRuns(this.o.owner, free, this.o.leaseTtlMs, now, now >= this.takeOverFrom);
      this.o.metrics?.observe("claim_seconds", (monotonicMs() - started) / 1000);
      if (this.stopOnce && claimed.length > 0) {
        this.stopOnce = false;
        process.kill(process.pid, "SIGSTOP");
      }
      for (const c of claimed) this.dispatch(c);
    } catch (err) {
      this.o.log(`claiming runs failed (will retry): ${describeError(err).message}`);
    } finally {
      this.polling = false;
    }
  }

  private dispatch(c: ClaimedRun): void {
    const ending = new AttemptEnd(this.o.store, c.lease);
    if (this.draining) {
      void ending.write(released()).catch(() => undefined);
      return;
    }
    if (c.crashes >= this.o.maxCrashes) {
      // Crashed that often under a worker with a higher --max-crashes.
      const end = { status: "failed" as const, error: poisoned(c.lease.runId, c.crashes, this.o.maxCrashes, null) };
      void ending.write(end).catch(() => undefined);
      this.o.log(`run ${c.lease.runId} failed: ${end.error.code}: ${end.error.message}`);
      return;
    }
    let slot: Slot;
    if (c.crashes > 0) {
      slot = this.spawn(-1, true);
      this.isolated.add(slot);
    } else {
      const live = this.slots.filter((s) => !s.thread.dead);
      slot = live.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a), live[0]!);
    }
    const job = this.nextJob++;
    const a: Assigned = {
      job,
      lease: c.lease,
      ending,
      previous: c.previous,
      wakeAt: c.wakeAt,
      timeoutMs: c.timeoutMs,
      crashes: c.crashes,
      slot,
    };
    this.jobs.set(job, a);
    slot.jobs.add(job);
    slot.thread.start(
      { kind: "attempt", job, lease: c.lease, previous: c.previous, wakeAt: c.wakeAt, run: c.run, logs: false },
      c.lease.runId,
      c.timeoutMs,
    );
  }

  /** After the heartbeat renewed this worker's leases (in one store call): acts on lost leases and cancel requests. */
  private onRenewed(checked: readonly (readonly [Assigned, LeaseCheck])[]): void {
    const renewed = new Map<Slot, [number, number][]>();
    for (const [a, c] of checked) {
      if (!c.held) a.slot.thread.leaseLost(a.job);
      else {
        const held = renewed.get(a.slot) ?? [];
        held.push([a.job, a.lease.expiresAt]);
        renewed.set(a.slot, held);
        if (c.cancelRequested) a.slot.thread.stop(a.job, { kind: "cancel" });
      }
    }
    for (const [slot, leases] of renewed) slot.thread.renewed(leases);
  }

  /**
   * Notes that the event loop ran. After a stall longer than the lease TTL (the process was frozen,
   * or blocked on SQLite's write lock) other workers' leases have likely expired only because they
   * were blocked too: for one TTL this worker takes none over, so they can renew first.
   */
  private tick(now: number): void {
    if (now - this.lastTick > this.o.leaseTtlMs) {
      this.takeOverFrom = now + this.o.leaseTtlMs;
      this.o.log(
        `this worker stalled for ${now - this.lastTick} ms (frozen or blocked): it takes over no expired lease for ${this.o.leaseTtlMs} ms`,
      );
    }
    this.lastTick = now;
  }

  /**
   * After a thread ended (its harness terminated it for a guest past its timeout, the watchdog or a
   * cancel, a lost lease, or it died by itself): the run it stopped ends as the harness says (failed,
   * cancelled, or nothing written for a lost lease); a run in guest code when it died fails as crashed; its other runs are given back
   * to the store and simply claimed again (they replay from their journals). A new thread takes its
   * place. While the worker stops, its shutdown gives the runs back instead.
   */
  private async onExit(slot: Slot, e: ThreadExit): Promise<void> {
    if (slot.isolated) this.isolated.delete(slot);
    if (this.draining) return;
    if (e.crash) this.o.log(`executor thread ${slot.isolated ? "(isolated)" : slot.index} crashed: ${e.crash.why}`);
    // Died by itself with no run in guest code: the runs on it crashed outside guest code (an engine
    // or host-function fault, the thread's heap limit in host code); each such attempt counts.
    const crashed = e.crash !== null && e.crash.inGuest === null;
    const ended: [Assigned, RunEnd | null][] = [];
    for (const job of e.jobs) {
      const a = this.jobs.get(job);
      if (!a) continue;
      this.jobs.delete(job);
      let end: RunEnd | null;
      if (e.stopped?.job === job) end = e.stopped.end;
      else if (e.crash?.inGuest === job) end = { status: "failed", error: describeError(new ThreadCrashed(a.lease.runId)) };
      else if (crashed && a.crashes + 1 >= this.o.maxCrashes)
        end = { status: "failed", error: poisoned(a.lease.runId, a.crashes + 1, this.o.maxCrashes, e.crash?.why ?? null) };
      else end = released(undefined, crashed);
      ended.push([a, end]);
    }
    slot.jobs.clear();
    if (!slot.isolated) this.slots[slot.index] = this.spawn(slot.index);
    for (const [a, end] of ended) {
      if (end === null) {
        // Its lease is lost (dwe terminate ended the run, or another process took it): nothing to write.
        this.o.metrics?.count("attempts", "lease_lost");
        this.o.metrics?.count("leases_lost");
        this.o.log(`run ${a.lease.runId} lost its lease (terminated, or another worker took it); its thread was stopped`);
        continue;
      }
      await a.ending.write(end).then(
        () => this.counted(end.status),
        () => undefined,
      );
      this.o.log(
        end.status === "failed" || end.status === "cancelled"
          ? `run ${a.lease.runId} ${end.status}: ${end.error.code}: ${end.error.message}`
          : `run ${a.lease.runId} given back (its thread ${crashed ? "crashed" : "was replaced"})`,
      );
    }
    if (this.jobs.size === 0) this.idle?.();
    void this.poll();
  }

  /** An attempt this side ended (its thread was replaced): counted as the thread would have counted it. */
  private counted(status: RunEnd["status"]): void {
    const outcome = status === "released" ? "pending" : status;
    this.o.metrics?.count("attempts", outcome);
    if (outcome === "failed") this.o.metrics?.count("runs_failed");
    else if (outcome === "cancelled") this.o.metrics?.count("runs_cancelled");
  }

  /** Ends an isolated thread once its run's attempt ended. */
  private retire(slot: Slot): void {
    this.isolated.delete(slot);
    void slot.thread.terminate();
  }

  /**
   * Graceful stop: take no more work; runs stop at their next host call or wait (an effect in flight
   * finishes and is journaled) and are given back; after `graceMs`, effects still in flight are
   * aborted; after 2 s more, threads are terminated and their leases given back. Bounded by graceMs + ~3 s.
   */
  async shutdown(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.stopping.set();
    for (const t of this.timers) clearInterval(t); // the heartbeat goes on while runs drain
    const shutdown = { kind: "shutdown", signal: "SIGTERM" } as const;
    for (const s of this.allSlots()) s.thread.stop(null, shutdown);
    if (!(await this.waitIdle(this.o.graceMs))) {
      for (const s of this.allSlots()) s.thread.abort(null, shutdown);
      await this.waitIdle(2_000);
    }
    this.heartbeat.stop();
    for (const s of this.allSlots()) await s.thread.terminate();
    for (const a of this.jobs.values()) await a.ending.write(released()).catch(() => undefined);
    this.jobs.clear();
    await this.session?.close().catch(() => undefined);
    this.stopped();
  }

  private waitIdle(ms: number): Promise<boolean> {
    if (this.jobs.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.idle = null;
        resolve(false);
      }, ms);
      this.idle = () => {
        clearTimeout(t);
        this.idle = null;
        resolve(true);
      };
    });
  }

  get inFlight(): number {
    return this.jobs.size;
  }
}

/** The error of a run failed for crashing its executor `crashes` times in a row (a poison run). */
function poisoned(runId: string, crashes: number, max: number, died: string | null): RunError {
  return {
    code: "crashed",
    message:
      `run ${runId} was failed after ${crashes} attempts in a row crashed outside guest code ` +
      `(its executor thread died${died === null ? "" : `: ${died}`}); it is not retried again (--max-crashes ${max}). ` +
      `The worker's log names each crash; fix the cause, then start the run again`,
  };
}
