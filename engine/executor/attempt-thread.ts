// The one harness that runs a guest somewhere it can be killed: an attempt thread (a worker thread
// executing attempts and verification replays, attempt-thread-main.ts) and this, its owner's
// handle. `dwe run --timeout` (threaded-run.ts), `dwe verify` (verify-in-thread.ts) and `dwe worker`
// (its supervisor's pool) are uses of it. It alone decides when a guest is stopped by terminating
// its thread, and why (a timeout, the watchdog, a cancel the guest cannot see): one place, one
// message each. Writing the runs' ends stays with the owner, through AttemptEnd (run-end.ts).
import type { ResourceLimits, Worker } from "node:worker_threads";
import { describeError, RunCancelled, RunTimeout, WatchdogStopped, type DweError } from "../kernel/errors.js";
import type { RunEnd } from "../store/types.js";
import { nodeWorkerThreads } from "../kernel/node-modules.js";
import { killGroupsOfThread, watchThreadGroups } from "../../host-functions/process-groups.js";
import type { AttemptOptions } from "./run-executor.js";
import {
  GuestClock,
  MessageBatch,
  StopFlag,
  type AttemptThreadData,
  type FromAttemptThread,
  type Job,
  type StopReason,
  type ToAttemptThread,
} from "./attempt-thread-protocol.js";

/** Time an attempt gets past its timeout to stop its guest at a host call by itself, before its thread is terminated. */
export const TIMEOUT_GRACE_MS = 1_000;
/**
 * A cancelled run still in its own code this long after it was asked to stop (it cannot see the
 * request before its next host call) is ended by terminating its thread, not left to its timeout.
 */
export const CANCEL_GRACE_MS = 1_000;
/**
 * A job whose lease is lost and that has been in its own code this long since (it cannot see the
 * abort before its next host call) has its thread terminated: short, so `dwe terminate` is felt at
 * once, but not a thread killed for a guest that was only between two host calls.
 */
export const LOST_GRACE_MS = 100;
/** How often the guest clock is looked at. */
const WATCH_MS = 50;
/** How long a thread asked to close gets, once its jobs have ended, to end by itself before it is terminated. */
const CLOSE_GRACE_MS = 2_000;

const THREAD_URL = new URL("./attempt-thread-main.js", import.meta.url);

export interface AttemptThreadOptions {
  /** The store the thread opens its own connection to (opened here first), and its durability. */
  db: string;
  durability: AttemptThreadData["durability"];
  /** The options of every attempt the thread executes. */
  attempt: AttemptOptions;
  /** Fail a run whose attempt fails outside its guest (a worker). Default false: given back. */
  failOnEngineError?: boolean;
  /** Shared by the owner's threads; set when the owner stops (default: this thread's own). */
  stopping?: StopFlag;
  /** Record metrics in the thread and send them ("metrics" events; `dwe worker --metrics`). Default false. */
  metrics?: boolean;
  /** A guest in its own code this long without a host call is stopped even without a timeout (`dwe worker --watchdog`). */
  watchdogMs?: number;
  resourceLimits?: ResourceLimits;
  /** Every message from the thread, then its exit, in order: typed, so it can be observed (logs, metrics). */
  on: (e: AttemptThreadEvent) => void;
}

/**
 * A job whose guest this harness stopped by terminating its thread, and the end its run gets; null
 * when its lease is lost (`dwe terminate` ended the run, or another process took it): nothing is written.
 */
export interface StoppedJob {
  job: number;
  end: (RunEnd & { status: "failed" | "cancelled" }) | null;
}

/** The thread ended: every job it still had (`jobs`) ended with it. */
export interface ThreadExit {
  type: "exit";
  /** Jobs that had not ended, in the order they were started. */
  jobs: number[];
  /** The job whose guest was stopped (the reason the thread was terminated), if any. */
  stopped: StoppedJob | null;
  /** The thread died by itself (an uncaught error, out of memory), and the job then in its guest code. */
  crash: { why: string; inGuest: number | null } | null;
}

export type AttemptThreadEvent = FromAttemptThread | ThreadExit;

interface Watched {
  runId: string;
  timeoutMs: number | null;
  grace: number;
  /** Set once the guest started: the end of its timeout. */
  deadline: number | null;
  cancelSeenAt?: number;
  /** When its lease was seen lost: its guest, if in its own code, is stopped at once. */
  lostAt?: number;
}

export class AttemptThread {
  readonly clock = new GuestClock(new SharedArrayBuffer(GuestClock.BYTES));
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Watched>();
  private readonly watcher: NodeJS.Timeout;
  private stopped: StoppedJob | null = null;
  private died: string | null = null;
  private terminating = false;
  private gone = false;
  private closing: NodeJS.Timeout | null | "asked" = null;
  /** Messages sent in this synchronous run go together, in order, once it ends (see ToAttemptThread). */
  private readonly outbox = new MessageBatch<ToAttemptThread>((batch) => {
    if (!this.dead) this.worker.postMessage(batch);
  }, queueMicrotask);
  /** Resolves once the thread has exited (and its exit was told). */
  readonly exited: Promise<void>;
  private isReady!: () => void;
  /**
   * Resolves once the thread has opened its store and loaded its code (or has exited): a worker
   * claims runs only then, so that no lease is held by a thread still starting (100-200 ms here).
   */
  readonly ready = new Promise<void>((resolve) => (this.isReady = resolve));

  constructor(private readonly o: AttemptThreadOptions) {
    const data: AttemptThreadData = {
      db: o.db,
      durability: o.durability,
      attempt: o.attempt,
      failOnEngineError: o.failOnEngineError ?? false,
      clock: this.clock.buffer,
      stopping: (o.stopping ?? new StopFlag()).buffer,
      metrics: o.metrics ?? false,
    };
    watchThreadGroups();
    this.worker = new (nodeWorkerThreads().Worker)(THREAD_URL, {
      workerData: data,
      stdout: false,
      stderr: false,
      ...(o.resourceLimits && { resourceLimits: o.resourceLimits }),
    });
    const thread = this.worker.threadId;
    this.worker.on("message", (batch: FromAttemptThread[]) => {
      for (const m of batch) this.onMessage(m);
    });
    this.worker.on("error", (err) => (this.died ??= describeError(err).message));
    this.exited = new Promise((resolve) => {
      this.worker.on("exit", (code) => {
        // A terminated thread cannot end the commands it started: this thread does.
        killGroupsOfThread(thread);
        clearInterval(this.watcher);
        if (this.closing !== null && this.closing !== "asked") clearTimeout(this.closing);
        this.gone = true;
        this.isReady();
        const jobs = [...this.jobs.keys()];
        this.jobs.clear();
        const crashed = !this.terminating && (this.died !== null || jobs.length > 0);
        const crash = crashed ? { why: this.died ?? `the thread exited with code ${code}`, inGuest: this.clock.read()?.job ?? null } : null;
        this.o.on({ type: "exit", jobs, stopped: this.stopped, crash });
        resolve();
      });
    });
    this.watcher = setInterval(() => this.watch(Date.now()), WATCH_MS);
    this.watcher.unref();
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /** Jobs started and not ended. */
  get size(): number {
    return this.jobs.size;
  }

  /** Whether the thread is terminated or being terminated: it takes no more jobs. */
  get dead(): boolean {
    return this.terminating || this.gone;
  }

  /** Starts a job; `timeoutMs` runs from its guest's start (a verify job: with no grace, it stops at no host call). */
  start(job: Job, runId: string, timeoutMs: number | null): void {
    this.jobs.set(job.job, { runId, timeoutMs, grace: job.kind === "attempt" ? TIMEOUT_GRACE_MS : 0, deadline: null });
    this.send({ type: "start", job, timed: timeoutMs !== null });
  }

  /** Stop at the next host call or wait (job null: all of them). */
  stop(job: number | null, reason: StopReason): void {
    if (reason.kind === "cancel" && job !== null) {
      const w = this.jobs.get(job);
      if (w) w.cancelSeenAt ??= Date.now();
    }
    this.send({ type: "stop", job, reason });
  }

  /**
   * The job's lease is lost (its run terminated, or taken over): it is aborted at its next host
   * call, and its thread is terminated if its guest stays in its own code (it would never see the
   * abort; LOST_GRACE_MS). Its owner writes nothing for it.
   */
  leaseLost(job: number): void {
    const w = this.jobs.get(job);
    if (w) w.lostAt ??= Date.now();
    this.abort(job, { kind: "lease_lost" });
  }

  /** Abort now, effects in flight included (job null: all of them). */
  abort(job: number | null, reason: StopReason): void {
    this.send({ type: "abort", job, reason });
  }

  renewed(leases: [number, number][]): void {
    this.send({ type: "renewed", leases });
  }

  /** Ends the thread once its jobs have ended (it starts no more); resolves when it has exited. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closing = "asked";
      this.send({ type: "close" });
      this.closeWhenIdle();
    }
    return this.exited;
  }

  /** A thread something keeps alive after its last job (a timer, a socket) is not waited for. */
  private closeWhenIdle(): void {
    if (this.closing !== "asked" || this.jobs.size > 0) return;
    this.closing = setTimeout(() => void this.terminate(), CLOSE_GRACE_MS);
    this.closing.unref();
  }

  /** Terminates the thread now; every job it has ends with it (told in its exit). */
  async terminate(): Promise<void> {
    this.terminating = true;
    await this.worker.terminate().catch(() => undefined);
    await this.exited;
  }

  private send(m: ToAttemptThread): void {
    if (!this.dead) this.outbox.push(m);
  }

  private onMessage(m: FromAttemptThread): void {
    if (this.gone) return;
    if (m.type === "ready") {
      this.isReady();
      return;
    }
    if (m.type === "metrics") {
      this.o.on(m);
      return;
    }
    const w = this.jobs.get(m.job);
    if (!w) return;
    if (m.type === "started") w.deadline = w.timeoutMs === null ? null : Date.now() + w.timeoutMs;
    if (m.type === "ended" || m.type === "verified" || m.type === "failed") this.jobs.delete(m.job);
    this.o.on(m);
    this.closeWhenIdle();
  }

  /**
   * The one place a guest is judged overdue: in its own code past its timeout (plus the grace in
   * which it could stop itself at a host call), or past the watchdog, or still in its own code a
   * while after it was cancelled. A thread that runs other jobs too is terminated only for a job in
   * guest code (any other job stops itself at its next host call); a thread of one job, for that job.
   * A job whose lease is lost is stopped once seen in its own code past LOST_GRACE_MS.
   */
  private overdue(now: number): StoppedJob | null {
    const g = this.clock.read();
    for (const [job, w] of this.jobs) {
      const inGuest = g !== null && g.job === job;
      if (!inGuest && this.jobs.size > 1) continue;
      if (inGuest && w.lostAt !== undefined && now - Math.max(w.lostAt, g.since) > LOST_GRACE_MS) return { job, end: null };
      if (inGuest && w.cancelSeenAt !== undefined && now - Math.max(w.cancelSeenAt, g.since) > CANCEL_GRACE_MS)
        return { job, end: { status: "cancelled", error: describeError(new RunCancelled(w.runId)) } };
      let error: DweError | null = null;
      if (w.deadline !== null && now > w.deadline + w.grace) error = new RunTimeout(w.runId, w.timeoutMs!);
      else if (inGuest && this.o.watchdogMs !== undefined && now - g.since > this.o.watchdogMs) {
        // A run whose own timeout is the shorter limit is told so, not blamed on the watchdog.
        error =
          w.timeoutMs !== null && w.timeoutMs <= this.o.watchdogMs
            ? new RunTimeout(w.runId, w.timeoutMs)
            : new WatchdogStopped(w.runId, now - g.since, this.o.watchdogMs);
      }
      if (error) return { job, end: { status: "failed", error: describeError(error) } };
    }
    return null;
  }

  private watch(now: number): void {
    if (this.dead) return;
    const stopped = this.overdue(now);
    if (stopped === null) return;
    this.stopped = stopped;
    void this.terminate();
  }
}
