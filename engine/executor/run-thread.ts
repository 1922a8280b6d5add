// The thread of a `dwe run --timeout` (or `dwe resume` of a run with a timeout): executes the run
// on its own SQLite connection under a lease the main thread took, so the main thread can terminate
// it when the guest loops without calling the host, and then record the timeout with that lease.
import { parentPort, workerData } from "node:worker_threads";
import { DweError, LeaseLost, RunCancelled, ShutdownRequested, describeError } from "../kernel/errors.js";
import { openStoreAt } from "../store/open.js";
import { executeAttempt } from "./run-executor.js";
import type { FromRunThread, RunThreadData, ToRunThread } from "./run-thread-protocol.js";

const data = workerData as RunThreadData;
const port = parentPort!;
const post = (m: FromRunThread) => port.postMessage(m);

const shutdown = new AbortController();
const stop = new AbortController();
port.on("message", (m: ToRunThread) => {
  if (m.type === "shutdown") shutdown.abort(new ShutdownRequested(m.signal));
  else if (m.type === "cancel") stop.abort(new RunCancelled(data.lease.runId));
  else shutdown.abort(new LeaseLost(data.lease.runId));
});

const store = openStoreAt(data.db, data.durability, false);
try {
  // The main thread reads the run back once this thread is done.
  await executeAttempt(data.lease.runId, {
    ...data.attempt,
    store,
    claimed: { lease: data.lease, previous: data.previous, wakeAt: data.wakeAt },
    heartbeat: false,
    signal: shutdown.signal,
    stop: stop.signal,
    ...(data.logs && {
      onLogs: (_run, logs) => post({ type: "logs", logs: [...logs] }),
      onLive: (_run, stream, bytes) => post({ type: "live", stream, data: bytes }),
    }),
  });
  post({ type: "done" });
} catch (err) {
  post({ type: "error", error: describeError(err), exitCode: err instanceof DweError ? err.exitCode : 2 });
} finally {
  await store.close();
  port.close();
}
