import { availableParallelism } from "node:os";
import { UsageError } from "../kernel/errors.js";
import { newOwnerId } from "../store/lease-owner.js";
import type { Durability, Store } from "../store/types.js";
import { Supervisor } from "../worker/supervisor.js";
import { fireDueSchedules } from "../worker/schedule-runner.js";
import { RetentionSweep } from "../worker/retention.js";
import type { WorkerOptions } from "./types.js";
import type { MetricsSink } from "../telemetry/telemetry.js";

/** A worker running in this process (`Dwe.worker`): executes runs until stopped. */
export class DweWorker {
  /** Lease owner id of this worker (`host:pid:nonce`), as runs it holds show. */
  readonly owner: string;
  /** Resolves when the worker has stopped (after `stop`). */
  readonly done: Promise<void>;
  private readonly supervisor: Supervisor;

  /** @internal Use `Dwe.worker`. */
  constructor(store: Store, db: string, durability: Durability, cwd: string, o: WorkerOptions, metrics: MetricsSink | null) {
    const num = (v: number | undefined, name: string, def: number) => {
      if (v === undefined) return def;
      if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`bad worker option ${name} '${v}': expected a positive whole number`);
      return v;
    };
    const concurrency = num(o.concurrency, "concurrency", 100);
    const log = o.log ?? (() => undefined);
    const retention = o.retentionMs === undefined ? null : new RetentionSweep(store, num(o.retentionMs, "retentionMs", 0), log);
    this.owner = newOwnerId();
    this.supervisor = new Supervisor({
      store,
      db,
      durability,
      owner: this.owner,
      cwd,
      concurrency,
      threads: Math.min(concurrency, num(o.threads, "threads", Math.min(4, availableParallelism()))),
      leaseTtlMs: num(o.leaseTtlMs, "leaseTtlMs", 30_000),
      pollMs: num(o.pollMs, "pollMs", 250),
      suspendAfterMs: num(o.suspendAfterMs, "suspendAfterMs", 10_000),
      watchdogMs: num(o.watchdogMs, "watchdogMs", 60_000),
      graceMs: num(o.graceMs, "graceMs", 10_000),
      maxCrashes: num(o.maxCrashes, "maxCrashes", 5),
      stopAfterClaim: o.stopAfterClaim ?? false,
      ...(metrics && { metrics }),
      onPoll: (now) => {
        retention?.poll(now);
        return fireDueSchedules(store, now, log);
      },
      log,
    });
    this.done = this.supervisor.run();
  }

  /** Runs executing on this worker now. */
  get inFlight(): number {
    return this.supervisor.inFlight;
  }

  /**
   * Stops cleanly: no new work; runs stop at their next host call or wait and are given back
   * (resumable by any worker); resolves when the worker has stopped (within `graceMs` + ~3 s).
   */
  async stop(): Promise<void> {
    await this.supervisor.shutdown();
    await this.done;
  }
}
