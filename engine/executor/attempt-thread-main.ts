// An attempt thread: executes the jobs its owner (AttemptThread, attempt-thread.ts) starts, many at
// once (asyncify lets their guests interleave on this one thread), on its own store connection:
// attempts of claimed runs (`dwe run --timeout`, `dwe worker`) and verification replays (`dwe verify`).
import { RunProgress } from "./run-progress.js";
import { parentPort, workerData } from "node:worker_threads";
import { LeaseLost, RunCancelled, ShutdownRequested, threadError } from "../kernel/errors.js";
import { openStoreAt } from "../store/open.js";
import type { Lease } from "../store/types.js";
import { executeAttempt } from "./run-executor.js";
import { AttemptEnd, released } from "./run-end.js";
import { verifyRun } from "./verify-run.js";
import {
  GuestClock,
  MessageBatch,
  StopFlag,
  VerifyProgress,
  type AttemptJob,
  type AttemptThreadData,
  type FromAttemptThread,
  type Job,
  type StopReason,
  type ToAttemptThread,
  type VerifyJob,
} from "./attempt-thread-protocol.js";
import { NO_METRICS, type Telemetry } from "../telemetry/telemetry.js";
import { BufferedMetrics } from "../telemetry/buffered-metrics.js";
import { tracerFromEnv } from "../telemetry/load.js";

const data = workerData as AttemptThreadData;
const port = parentPort!;
// The owner opened the store (and created its schema) already.
const store = openStoreAt(data.db, data.durability, false);
const clock = new GuestClock(data.clock);
const stopping = new StopFlag(data.stopping);

interface Running {
  runId: string;
  /** The lease the attempt writes under; its expiry follows the owner's renewals (none for a verify job). */
  lease: Lease | null;
  stop: AbortController;
  abort: AbortController;
}
const running = new Map<number, Running>();

/**
 * Messages for the owner, sent as one batch (see ToAttemptThread) at the end of this turn of the
 * event loop, or before guest code runs, which may keep the loop from turning for long (the owner's
 * timeout and watchdog then act on what it was told).
 */
const outbox = new MessageBatch<FromAttemptThread>(
  (batch) => port.postMessage(batch),
  (flush) => setImmediate(flush),
);
function post(m: FromAttemptThread): void {
  outbox.push(m);
}
/** Told when a job's guest code starts and stops running on this thread. */
function guestClock(job: number): (inGuest: boolean) => void {
  return (inGuest) => {
    if (inGuest) {
      outbox.flush();
      clock.enter(job);
    } else clock.leave();
  };
}

// Metrics are recorded here and sent to the owner, whose registry is scraped; spans are exported
// from here (docs/observability.md).
const metrics = data.metrics ? new BufferedMetrics(() => sendMetrics()) : null;
function sendMetrics(): void {
  const delta = metrics?.drain();
  if (delta) post({ type: "metrics", delta });
}
const metricsTimer = metrics ? setInterval(sendMetrics, 1_000).unref() : null;
const telemetry: Telemetry = { metrics: metrics ?? NO_METRICS, tracer: await tracerFromEnv() };

/** The abort reason a stop reason stands for. */
function reasonOf(r: StopReason, runId: string): Error {
  if (r.kind === "cancel") return new RunCancelled(runId);
  if (r.kind === "lease_lost") return new LeaseLost(runId);
  return new ShutdownRequested(r.signal);
}

/** Fault injection for tests: this thread dies (an uncaught error, outside guest code) when it is given this run. */
const CRASH_RUN = process.env.DWE_TEST_CRASH_RUN;

async function attempt(job: AttemptJob, timed: boolean): Promise<void> {
  if (CRASH_RUN !== undefined && job.lease.runId === CRASH_RUN) {
    setImmediate(() => {
      throw new Error(`test crash of the executor thread (DWE_TEST_CRASH_RUN=${CRASH_RUN})`);
    });
    return;
  }
  if (stopping.isSet) {
    // Started before the owner was told to stop, reached after: given back untouched, so another
    // process can take it at once.
    const outcome = await new AttemptEnd(store, job.lease).write(released());
    post({ type: "ended", job: job.job, outcome });
    return;
  }
  const ctl: Running = { runId: job.lease.runId, lease: job.lease, stop: new AbortController(), abort: new AbortController() };
  running.set(job.job, ctl);
  // The stop flag, read where the attempt would otherwise go on: it stops as the "stop" message does.
  const pollStop = () => {
    if (stopping.isSet && !ctl.stop.signal.aborted) ctl.stop.abort(new ShutdownRequested("SIGTERM"));
  };
  try {
    // The outcome this attempt stored: the owner need not read the run back.
    const outcome = await executeAttempt(job.lease.runId, {
      ...data.attempt,
      ...(job.upgradeTo !== undefined && { upgradeTo: job.upgradeTo }),
      ...(job.grants !== undefined && { grants: job.grants }),
      store,
      claimed: { lease: job.lease, previous: job.previous, wakeAt: job.wakeAt, ...(job.run && { run: job.run }) },
      heartbeat: false,
      failOnEngineError: data.failOnEngineError,
      stop: ctl.stop.signal,
      pollStop,
      signal: ctl.abort.signal,
      ...(timed && { onStart: () => post({ type: "started", job: job.job }) }),
      onGuest: guestClock(job.job),
      ...(job.logs && {
        onLogs: (_run, logs) => post({ type: "logs", job: job.job, logs: [...logs] }),
        onLive: (_run, stream, bytes) => post({ type: "live", job: job.job, stream, data: bytes }),
      }),
      telemetry,
      ...(job.progress && { progress: new RunProgress(job.progress) }),
    });
    sendMetrics();
    post({ type: "ended", job: job.job, outcome });
  } catch (err) {
    sendMetrics();
    post({ type: "failed", job: job.job, error: threadError(err) });
  } finally {
    clock.leave();
    running.delete(job.job);
    // Idle: export the spans now rather than risk losing them when the thread is ended.
    if (running.size === 0) void telemetry.tracer.flush().catch(() => undefined);
  }
}

async function verify(job: VerifyJob, timed: boolean): Promise<void> {
  const progress = new VerifyProgress(job.progress);
  let started = false;
  // A replay writes nothing and holds no lease: stopping it is terminating this thread.
  running.set(job.job, { runId: job.runId, lease: null, stop: new AbortController(), abort: new AbortController() });
  try {
    const report = await verifyRun(store, job.runId, {
      ...(job.module !== undefined && { module: job.module }),
      ...(job.debug && { debug: (line: string) => post({ type: "debug", job: job.job, line }) }),
      onGuest: guestClock(job.job),
      onProgress: (replayed, all) => {
        if (!started) {
          started = true;
          if (timed) post({ type: "started", job: job.job });
        }
        progress.set(replayed, all);
      },
    });
    post({ type: "verified", job: job.job, report });
  } catch (err) {
    post({ type: "failed", job: job.job, error: threadError(err) });
  } finally {
    clock.leave();
    running.delete(job.job);
  }
}

function start(job: Job, timed: boolean): void {
  active++;
  void (job.kind === "attempt" ? attempt(job, timed) : verify(job, timed)).finally(() => {
    active--;
    closeIfIdle();
  });
}

function targets(job: number | null): Running[] {
  if (job === null) return [...running.values()];
  const r = running.get(job);
  return r ? [r] : [];
}

let closing = false;
/** Jobs started and not ended. */
let active = 0;
/** Once asked to close and idle: the store is closed and the thread ends (its port closed). */
function closeIfIdle(): void {
  if (!closing || active > 0) return;
  if (metricsTimer) clearInterval(metricsTimer);
  void telemetry.tracer
    .flush()
    .catch(() => undefined)
    .then(() => store.close())
    .finally(() => {
      outbox.flush();
      port.close();
    });
}

port.on("message", (batch: ToAttemptThread[]) => {
  for (const m of batch) handle(m);
});

function handle(m: ToAttemptThread): void {
  switch (m.type) {
    case "close":
      closing = true;
      closeIfIdle();
      break;
    case "start":
      start(m.job, m.timed);
      break;
    case "stop":
      for (const r of targets(m.job)) r.stop.abort(reasonOf(m.reason, r.runId));
      break;
    case "abort":
      for (const r of targets(m.job)) r.abort.abort(reasonOf(m.reason, r.runId));
      break;
    case "renewed":
      for (const [job, expiresAt] of m.leases) {
        const lease = running.get(job)?.lease;
        if (lease && expiresAt > lease.expiresAt) lease.expiresAt = expiresAt;
      }
      break;
  }
}

// Started with everything a job needs but its module: the owner may claim runs for it now.
post({ type: "ready" });
