// An executor thread of `dwe worker`: executes many claimed runs concurrently (asyncify lets their
// guests interleave on this one thread) on its own store connection. See docs/worker.md.
import { parentPort, workerData } from "node:worker_threads";
import { describeError, LeaseLost, RunCancelled, ShutdownRequested } from "../kernel/errors.js";
import { executeAttempt } from "../executor/run-executor.js";
import { AttemptEnd, released } from "../executor/run-end.js";
import { openStoreAt } from "../store/open.js";
import { GuestClock, StopFlag, type FromThread, type Job, type ThreadData, type ToThread } from "./protocol.js";

const data = workerData as ThreadData;
const port = parentPort!;
// Its own connection (SQLite file or PostgreSQL pool) to the worker's store.
const store = openStoreAt(data.db, data.durability);
const clock = new GuestClock(data.clock);
const stopping = new StopFlag(data.stopping);

interface Running {
  runId: string;
  /** The lease the attempt writes under; its expiry follows the supervisor's renewals. */
  lease: Job["lease"];
  stop: AbortController;
  abort: AbortController;
}
const running = new Map<number, Running>();

function post(m: FromThread): void {
  port.postMessage(m);
}

/** Fault injection for tests: this thread dies (an uncaught error, outside guest code) when it is given this run. */
const CRASH_RUN = process.env.DWE_TEST_CRASH_RUN;

async function execute(job: Job): Promise<void> {
  if (CRASH_RUN !== undefined && job.lease.runId === CRASH_RUN) {
    setImmediate(() => {
      throw new Error(`test crash of the executor thread (DWE_TEST_CRASH_RUN=${CRASH_RUN})`);
    });
    return;
  }
  if (stopping.isSet) {
    // Claimed before the worker was told to stop, reached after: given back untouched, so another
    // worker can take it at once.
    await new AttemptEnd(store, job.lease).write(released()).catch(() => undefined);
    post({ type: "done", job: job.job, status: "pending" });
    return;
  }
  const ctl: Running = { runId: job.lease.runId, lease: job.lease, stop: new AbortController(), abort: new AbortController() };
  running.set(job.job, ctl);
  // The stop flag, read where the attempt would otherwise go on: it stops as the "stop" message does.
  const pollStop = () => {
    if (stopping.isSet && !ctl.stop.signal.aborted) ctl.stop.abort(new ShutdownRequested("SIGTERM"));
  };
  try {
    // The outcome this attempt stored: no need to read the run back.
    const run = await executeAttempt(job.lease.runId, {
      ...data.attempt,
      store,
      claimed: { lease: job.lease, previous: job.previous, wakeAt: job.wakeAt },
      heartbeat: false,
      failOnEngineError: true,
      stop: ctl.stop.signal,
      pollStop,
      signal: ctl.abort.signal,
      onGuest: (inGuest) => (inGuest ? clock.enter(job.job) : clock.leave()),
    });
    post({ type: "done", job: job.job, status: run.status, ...(run.error && { error: run.error }) });
  } catch (err) {
    if (err instanceof LeaseLost) {
      post({ type: "done", job: job.job, status: "lease_lost" });
      return;
    }
    // Not an outcome of the guest (module missing or invalid, store error): the attempt failed the
    // run (failOnEngineError) rather than leave it to be claimed again and again.
    post({ type: "done", job: job.job, status: "error", error: describeError(err) });
  } finally {
    clock.leave();
    running.delete(job.job);
  }
}

function targets(job: number | null): Running[] {
  if (job === null) return [...running.values()];
  const r = running.get(job);
  return r ? [r] : [];
}

port.on("message", (m: ToThread) => {
  switch (m.type) {
    case "run":
      void execute(m.job);
      break;
    case "stop":
      for (const r of targets(m.job)) {
        r.stop.abort(m.reason === "cancel" ? new RunCancelled(r.runId) : new ShutdownRequested("SIGTERM"));
      }
      break;
    case "abort":
      for (const r of targets(m.job)) {
        r.abort.abort(m.reason === "lease_lost" ? new LeaseLost(r.runId) : new ShutdownRequested("SIGTERM"));
      }
      break;
    case "renewed":
      for (const [job, expiresAt] of m.leases) {
        const r = running.get(job);
        if (r && expiresAt > r.lease.expiresAt) r.lease.expiresAt = expiresAt;
      }
      break;
  }
});
