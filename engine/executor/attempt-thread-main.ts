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

function post(m: FromAttemptThread): void {
  port.postMessage(m);
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

async function attempt(job: AttemptJob): Promise<void> {
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
      claimed: { lease: job.lease, previous: job.previous, wakeAt: job.wakeAt },
      heartbeat: false,
      failOnEngineError: data.failOnEngineError,
      stop: ctl.stop.signal,
      pollStop,
      signal: ctl.abort.signal,
      onStart: () => post({ type: "started", job: job.job }),
      onGuest: (inGuest) => (inGuest ? clock.enter(job.job) : clock.leave()),
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

async function verify(job: VerifyJob): Promise<void> {
  const progress = new VerifyProgress(job.progress);
  let started = false;
  // A replay writes nothing and holds no lease: stopping it is terminating this thread.
  running.set(job.job, { runId: job.runId, lease: null, stop: new AbortController(), abort: new AbortController() });
  try {
    const report = await verifyRun(store, job.runId, {
      ...(job.module !== undefined && { module: job.module }),
      ...(job.debug && { debug: (line: string) => post({ type: "debug", job: job.job, line }) }),
      onGuest: (inGuest) => (inGuest ? clock.enter(job.job) : clock.leave()),
      onProgress: (replayed, all) => {
        if (!started) {
          started = true;
          post({ type: "started", job: job.job });
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

function start(job: Job): void {
  active++;
  void (job.kind === "attempt" ? attempt(job) : verify(job)).finally(() => {
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
    .finally(() => port.close());
}

port.on("message", (m: ToAttemptThread) => {
  switch (m.type) {
    case "close":
      closing = true;
      closeIfIdle();
      break;
    case "start":
      start(m.job);
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
});
