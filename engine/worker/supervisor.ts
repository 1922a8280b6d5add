// The main thread of `dwe worker`: claims due runs from the store, hands them to executor threads,
// renews their leases, stops guests that run past their timeout, fires schedules, and shuts down
// cleanly on SIGTERM/SIGINT. See docs/worker.md.
import { Worker } from "node:worker_threads";
import { describeError, RunCancelled } from "../kernel/errors.js";
import type { ClaimedRun, Lease, LeaseCheck, RunEnd, RunError, RunStatus, Store, WorkerSession } from "../store/types.js";
import { AttemptEnd, released } from "../executor/run-end.js";
import { LeaseHeartbeat } from "../executor/lease-heartbeat.js";
import { GuestClock, StopFlag, type FromThread, type ThreadData, type ToThread } from "./protocol.js";
import { killGroupsOfThread } from "../../host-functions/process-groups.js";

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
  /** When the heartbeat first saw a cancel request for it (the run was asked to stop). */
  cancelSeenAt?: number;
}

/**
 * A cancelled run still in its own code this long after it was asked to stop (it cannot see the
 * request before its next host call) is ended by replacing its thread, not left to the watchdog.
 */
const CANCEL_GRACE_MS = 1_000;

interface Slot {
  index: number;
  worker: Worker;
  clock: GuestClock;
  jobs: Set<number>;
  /** Set while the thread is being replaced; its jobs are being given back. */
  dead: boolean;
  /**
   * A thread of its own for one run whose last attempt crashed (outside the pool, ended with it),
   * so that a further crash is blamed on that run alone, not on runs that shared its thread.
   */
  isolated: boolean;
  /** Why the thread died, when it reported an uncaught error. */
  died?: string;
}

const THREAD_URL = new URL("./executor-thread.js", import.meta.url);

export class Supervisor {
  private readonly slots: Slot[] = [];
  private readonly isolated = new Set<Slot>();
  private readonly jobs = new Map<number, Assigned>();
  private nextJob = 1;
  private draining = false;
  /** Set with `draining`, in memory the threads read synchronously (see StopFlag). */
  private readonly stopping = new StopFlag(new SharedArrayBuffer(StopFlag.BYTES));
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
    this.timers.push(setInterval(() => void this.poll(), this.o.pollMs));
    this.heartbeat.start();
    this.timers.push(setInterval(() => void this.watch(), 50));
    void this.poll();
    await this.done;
  }

  /** The pool's threads and the isolated ones. */
  private allSlots(): Slot[] {
    return [...this.slots, ...this.isolated];
  }

  private spawn(index: number, isolated = false): Slot {
    const clock = new GuestClock(new SharedArrayBuffer(GuestClock.BYTES));
    const data: ThreadData = {
      db: this.o.db,
      durability: this.o.durability,
      attempt: { owner: this.o.owner, cwd: this.o.cwd, leaseTtlMs: this.o.leaseTtlMs, suspendAfterMs: this.o.suspendAfterMs },
      clock: clock.buffer,
      stopping: this.stopping.buffer,
    };
    const worker = new Worker(THREAD_URL, { workerData: data, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    const slot: Slot = { index, worker, clock, jobs: new Set(), dead: false, isolated };
    worker.on("message", (m: FromThread) => this.onMessage(m));
    worker.on("error", (err) => {
      slot.died = describeError(err).message;
      this.o.log(`executor thread ${isolated ? "(isolated)" : index} crashed: ${slot.died}`);
    });
    const thread = worker.threadId;
    worker.on("exit", () => {
      // A terminated thread cannot end the commands it started: this thread does.
      killGroupsOfThread(thread);
      if (!slot.dead && !this.draining) void this.replace(slot, null);
    });
    return slot;
  }

  private onMessage(m: FromThread): void {
    const a = this.jobs.get(m.job);
    if (!a) return;
    this.jobs.delete(m.job);
    a.slot.jobs.delete(m.job);
    if (a.slot.isolated) this.retire(a.slot);
    const detail = m.error ? `: ${m.error.code}: ${m.error.message}` : "";
    this.o.log(`run ${a.lease.runId} ${m.status === "lease_lost" ? "lost its lease (another worker took it)" : m.status}${detail}`);
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
    for (const s of this.allSlots()) this.send(s, { type: "abort", job: null, reason: "shutdown" });
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
      const claimed = await this.o.store.claimRuns(this.o.owner, free, this.o.leaseTtlMs, now, now >= this.takeOverFrom);
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
      const live = this.slots.filter((s) => !s.dead);
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
    this.send(slot, { type: "run", job: { job, lease: c.lease, previous: c.previous, wakeAt: c.wakeAt } });
  }

  private send(slot: Slot, m: ToThread): void {
    if (!slot.dead) slot.worker.postMessage(m);
  }

  /** After the heartbeat renewed this worker's leases (in one store call): acts on lost leases and cancel requests. */
  private onRenewed(checked: readonly (readonly [Assigned, LeaseCheck])[]): void {
    const renewed = new Map<Slot, [number, number][]>();
    for (const [a, c] of checked) {
      if (!c.held) this.send(a.slot, { type: "abort", job: a.job, reason: "lease_lost" });
      else {
        const held = renewed.get(a.slot) ?? [];
        held.push([a.job, a.lease.expiresAt]);
        renewed.set(a.slot, held);
        if (c.cancelRequested) {
          a.cancelSeenAt ??= Date.now();
          this.send(a.slot, { type: "stop", job: a.job, reason: "cancel" });
        }
      }
    }
    for (const [slot, leases] of renewed) this.send(slot, { type: "renewed", leases });
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

  /** Stops a guest that has been in its own code past its timeout (or the watchdog) by replacing its thread. */
  private watch(): void {
    const now = Date.now();
    this.tick(now);
    for (const slot of this.allSlots()) {
      if (slot.dead) continue;
      const g = slot.clock.read();
      if (!g) continue;
      const a = this.jobs.get(g.job);
      if (!a) continue;
      if (a.cancelSeenAt !== undefined && now - Math.max(a.cancelSeenAt, g.since) > CANCEL_GRACE_MS) {
        void this.replace(slot, { job: g.job, end: { status: "cancelled", error: describeError(new RunCancelled(a.lease.runId)) } });
        continue;
      }
      const limit = Math.min(a.timeoutMs ?? Infinity, this.o.watchdogMs);
      const spent = now - g.since;
      if (spent <= limit) continue;
      const message =
        a.timeoutMs !== null && a.timeoutMs <= this.o.watchdogMs
          ? `run ${a.lease.runId} ran past its timeout of ${a.timeoutMs} ms in its own code (no host call for ${spent} ms) and was stopped; raise --timeout if it needs longer`
          : `run ${a.lease.runId} ran its own code for ${spent} ms without a host call and was stopped by the worker's watchdog (--watchdog ${this.o.watchdogMs} ms); an infinite loop?`;
      void this.replace(slot, { job: g.job, end: { status: "failed", error: { code: "timeout", message } } });
    }
  }

  /**
   * Terminates a thread and starts a new one in its place. The run that blocked it (if any) fails
   * as `culprit.end` says (failed, or cancelled); its other runs are given back to the store and simply claimed again
   * (they replay from their journals).
   */
  private async replace(slot: Slot, culprit: { job: number; end: RunEnd & { status: "failed" | "cancelled" } } | null): Promise<void> {
    if (slot.dead) return;
    slot.dead = true;
    if (culprit === null) {
      // The thread died by itself (out of memory?): blame the run that was in guest code, if any.
      const g = slot.clock.read();
      if (g)
        culprit = {
          job: g.job,
          end: {
            status: "failed",
            error: {
              code: "crashed",
              message: `the executor thread died while run ${this.jobs.get(g.job)?.lease.runId ?? "?"} was running guest code (out of memory?)`,
            },
          },
        };
    }
    // Died by itself with no run in guest code: the runs on it crashed outside guest code (an engine
    // or host-function fault, the thread's heap limit in host code); each such attempt counts.
    const crashed = culprit === null;
    await slot.worker.terminate().catch(() => undefined);
    for (const job of slot.jobs) {
      const a = this.jobs.get(job);
      if (!a) continue;
      this.jobs.delete(job);
      let end: RunEnd;
      if (culprit && culprit.job === job) end = culprit.end;
      else if (crashed && a.crashes + 1 >= this.o.maxCrashes)
        end = { status: "failed", error: poisoned(a.lease.runId, a.crashes + 1, this.o.maxCrashes, slot.died ?? null) };
      else end = released(undefined, crashed);
      await a.ending.write(end).catch(() => undefined);
      this.o.log(
        end.status === "failed" || end.status === "cancelled"
          ? `run ${a.lease.runId} ${end.status}: ${end.error.code}: ${end.error.message}`
          : `run ${a.lease.runId} given back (its thread ${crashed ? "crashed" : "was replaced"})`,
      );
    }
    slot.jobs.clear();
    if (this.jobs.size === 0) this.idle?.();
    if (slot.isolated) this.isolated.delete(slot);
    if (!this.draining) {
      if (!slot.isolated) this.slots[slot.index] = this.spawn(slot.index);
      void this.poll();
    }
  }

  /** Ends an isolated thread once its run's attempt ended. */
  private retire(slot: Slot): void {
    slot.dead = true;
    this.isolated.delete(slot);
    void slot.worker.terminate().catch(() => undefined);
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
    for (const s of this.allSlots()) this.send(s, { type: "stop", job: null, reason: "shutdown" });
    if (!(await this.waitIdle(this.o.graceMs))) {
      for (const s of this.allSlots()) this.send(s, { type: "abort", job: null, reason: "shutdown" });
      await this.waitIdle(2_000);
    }
    this.heartbeat.stop();
    for (const s of this.allSlots()) {
      s.dead = true;
      await s.worker.terminate().catch(() => undefined);
    }
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
