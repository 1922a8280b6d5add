// The one protocol between an attempt thread (attempt-thread-main.ts) and the thread that owns it
// (AttemptThread, attempt-thread.ts): `dwe run --timeout`, `dwe verify` and `dwe worker` all speak it.
import type { ThreadError } from "../kernel/errors.js";
import type { LogRecord } from "../journal/entry.js";
import type { Durability, Lease, RunRecord, RunStatus } from "../store/types.js";
import type { AttemptOptions } from "./run-executor.js";
import type { AttemptOutcome } from "./run-end.js";
import type { VerifyReport } from "./verify-run.js";
import type { MetricDelta } from "../telemetry/metric-set.js";

/** What an attempt thread is started with (node:worker_threads workerData). */
export interface AttemptThreadData {
  /** The store (SQLite file or PostgreSQL URL) the thread opens its own connection to, and its durability. */
  db: string;
  durability: Durability;
  /** The options of every attempt the thread executes (a job may add its own). */
  attempt: AttemptOptions;
  /** Fail a run whose attempt fails outside its guest (a worker, which would claim it again and again). */
  failOnEngineError: boolean;
  /** See GuestClock. */
  clock: SharedArrayBuffer;
  /** See StopFlag (one per process that may share it among its threads). */
  stopping: SharedArrayBuffer;
  /** Record metrics and send them to the owner ("metrics" messages; `dwe worker --metrics`). */
  metrics: boolean;
}

/** An attempt of a claimed run, under a lease the owning thread took and renews. */
export interface AttemptJob {
  kind: "attempt";
  job: number;
  lease: Lease;
  previous: RunStatus;
  wakeAt: number | null;
  /** The run as its claim left it (a worker's): not read again by the thread. */
  run?: RunRecord;
  /** This attempt's own options (`dwe resume`'s upgrade and grants). */
  upgradeTo?: string;
  grants?: AttemptOptions["grants"];
  /** Forward its committed log lines and its commands' live output. */
  logs: boolean;
  /** A RunProgress's buffer, told of every journaled call (`dwe run --timeout` on a terminal). */
  progress?: SharedArrayBuffer;
}

/** A verification replay (`dwe verify`, `dwe resume --upgrade`'s check): no lease, no writes. */
export interface VerifyJob {
  kind: "verify";
  job: number;
  runId: string;
  /** Replay on this stored module (sha256) instead of the run's own. */
  module?: string;
  debug: boolean;
  /** [replayed, consumedAll], updated at every host call: read after the thread was stopped. */
  progress: SharedArrayBuffer;
}

export type Job = AttemptJob | VerifyJob;

/** Why a job is asked to stop. */
export type StopReason =
  /** The process shuts down (Ctrl-C, SIGTERM, a worker's stop): the run stays resumable. */
  | { kind: "shutdown"; signal: string }
  /** `dwe cancel` was asked: the run ends cancelled. */
  | { kind: "cancel" }
  /** Another process took the run: nothing more is written. */
  | { kind: "lease_lost" };

/**
 * Messages travel in batches, an array per postMessage, in order: each postMessage that wakes the
 * other thread costs more than the message (on the machines measured, 20-35 us against 2 us back
 * to back), and a worker's runs start and end many at a time.
 */
export type ToAttemptThread =
  /** `timed`: the owner times the job from its start (it has a timeout), so "started" is sent at once; otherwise never. */
  | { type: "start"; job: Job; timed: boolean }
  /** Stop at the next host call or wait (effects in flight finish and are journaled); job null: all. */
  | { type: "stop"; job: number | null; reason: StopReason }
  /** Abort now, including effects in flight; job null: all. */
  | { type: "abort"; job: number | null; reason: StopReason }
  /** Leases the owner renewed: [job, new expiry] (the thread's self-fencing reads the expiry). */
  | { type: "renewed"; leases: [number, number][] }
  /** Close the store and end the thread once its jobs have ended (the owner starts no more). */
  | { type: "close" };

export type FromAttemptThread =
  /** The thread has opened its store and loaded its code: jobs start at once from now on. */
  | { type: "ready" }
  /** The job is prepared and its guest starts now: its timeout runs from here (sent for a timed job only). */
  | { type: "started"; job: number }
  | { type: "logs"; job: number; logs: LogRecord[] }
  | { type: "live"; job: number; stream: "stdout" | "stderr"; data: Uint8Array }
  | { type: "debug"; job: number; line: string }
  /** An attempt ended and stored this outcome. */
  | { type: "ended"; job: number; outcome: AttemptOutcome }
  /** A verification replay ended with this report. */
  | { type: "verified"; job: number; report: VerifyReport }
  /** The job threw (for an attempt: after its end was written, if it was). */
  | { type: "failed"; job: number; error: ThreadError }
  /** What the thread's attempts recorded since its last report: sent before an attempt's end is told, and every second. */
  | { type: "metrics"; delta: MetricDelta };

/**
 * Messages gathered into one batch (see ToAttemptThread): the first one pushed schedules the send,
 * `flush` sends what is gathered at once.
 */
export class MessageBatch<M> {
  private pending: M[] = [];

  constructor(
    private readonly send: (batch: M[]) => void,
    private readonly schedule: (flush: () => void) => void,
  ) {}

  push(m: M): void {
    if (this.pending.push(m) === 1) this.schedule(() => this.flush());
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.send(batch);
  }
}

/**
 * Where an attempt thread publishes which job is running guest code, and since when, so the owner
 * can stop a guest that never returns to the host (an infinite loop blocks the thread's event loop,
 * so the thread cannot stop it itself). Layout: i32 job (0: none) | pad | f64 since (ms).
 */
export class GuestClock {
  static readonly BYTES = 16;
  private readonly job: Int32Array;
  private readonly since: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.job = new Int32Array(buffer, 0, 1);
    this.since = new Float64Array(buffer, 8, 1);
  }

  enter(job: number): void {
    this.since[0] = Date.now();
    Atomics.store(this.job, 0, job);
  }

  leave(): void {
    Atomics.store(this.job, 0, 0);
  }

  /** The job in guest code and since when, or null. */
  read(): { job: number; since: number } | null {
    const job = Atomics.load(this.job, 0);
    return job === 0 ? null : { job, since: this.since[0]! };
  }
}

/**
 * Set by the owner the moment the process is told to stop (SIGTERM, `DweWorker.stop`), read by its
 * attempt threads at every host call and before every effect. The "stop" message says the same,
 * but a thread busy in guest code or replaying runs reads its messages late, and must start no
 * effect meanwhile. Layout: i32 (0: running, 1: stopping).
 */
export class StopFlag {
  static readonly BYTES = 4;
  private readonly word: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(StopFlag.BYTES)) {
    this.word = new Int32Array(buffer, 0, 1);
  }

  set(): void {
    Atomics.store(this.word, 0, 1);
  }

  get isSet(): boolean {
    return Atomics.load(this.word, 0) === 1;
  }
}

/** The progress a verify job publishes (see VerifyJob.progress). */
export class VerifyProgress {
  static readonly BYTES = 8;
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(VerifyProgress.BYTES)) {
    this.words = new Int32Array(buffer, 0, 2);
  }

  set(replayed: number, consumedAll: boolean): void {
    Atomics.store(this.words, 0, replayed);
    Atomics.store(this.words, 1, consumedAll ? 1 : 0);
  }

  read(): { replayed: number; consumedAll: boolean } {
    return { replayed: Atomics.load(this.words, 0), consumedAll: Atomics.load(this.words, 1) === 1 };
  }
}
