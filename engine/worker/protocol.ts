import type { Lease, RunStatus } from "../store/types.js";
import type { AttemptOptions } from "../executor/run-executor.js";

/** What the supervisor hands an executor thread when it starts (node:worker_threads workerData). */
export interface ThreadData {
  db: string;
  durability: "process" | "fsync";
  /** The options of every attempt the thread executes. */
  attempt: AttemptOptions;
  /** See GuestClock. */
  clock: SharedArrayBuffer;
  /** See StopFlag (one for the whole process). */
  stopping: SharedArrayBuffer;
}

/** A claimed run as it crosses to a thread (plain data). */
export interface Job {
  job: number;
  lease: Lease;
  previous: RunStatus;
  wakeAt: number | null;
}

export type ToThread =
  | { type: "run"; job: Job }
  /** Stop at the next host call or wait (effects in flight finish and are journaled). */
  | { type: "stop"; job: number | null; reason: "shutdown" | "cancel" }
  /** Abort now, including effects in flight (lease lost, shutdown grace over). */
  | { type: "abort"; job: number | null; reason: "shutdown" | "lease_lost" }
  /** Leases the supervisor renewed: [job, new expiry] (the thread's self-fencing reads the expiry). */
  | { type: "renewed"; leases: [number, number][] };

export type FromThread = {
  type: "done";
  job: number;
  status: RunStatus | "lease_lost" | "error";
  error?: { code: string; message: string };
};

/**
 * Where an executor thread publishes which job is running guest code, and since when, so the
 * supervisor can stop a guest that never returns to the host (an infinite loop blocks the thread's
 * event loop, so the thread cannot stop it itself). Layout: i32 job (0: none) | pad | f64 since (ms).
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
 * Set by the supervisor the moment the worker is told to stop (SIGTERM, `DweWorker.stop`), read by
 * its executor threads at every host call and before every effect. The "stop" message says the
 * same, but a thread busy in guest code or replaying runs reads its messages late, and must start
 * no effect meanwhile. Layout: i32 (0: running, 1: stopping).
 */
export class StopFlag {
  static readonly BYTES = 4;
  private readonly word: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer, 0, 1);
  }

  set(): void {
    Atomics.store(this.word, 0, 1);
  }

  get isSet(): boolean {
    return Atomics.load(this.word, 0) === 1;
  }
}
