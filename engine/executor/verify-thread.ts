// The thread of `dwe verify`: replays the run on its own (read-only) use of the store, reporting
// progress through shared memory so the main thread can stop a guest that loops without host calls.
import { parentPort, workerData } from "node:worker_threads";
import { DweError, describeError } from "../kernel/errors.js";
import { openStoreAt } from "../store/open.js";
import type { Durability } from "../store/types.js";
import { verifyRun } from "./verify-run.js";

export interface VerifyThreadData {
  db: string;
  durability: Durability;
  runId: string;
  /** [replayed, consumedAll] */
  progress: SharedArrayBuffer;
  debug: boolean;
  /** Replay on this stored module (sha256) instead of the run's own. */
  module?: string;
}

const data = workerData as VerifyThreadData;
const port = parentPort!;
const progress = new Int32Array(data.progress);
let started = false;
const store = openStoreAt(data.db, data.durability, false);
try {
  const report = await verifyRun(store, data.runId, {
    ...(data.module !== undefined && { module: data.module }),
    ...(data.debug && { debug: (line: string) => port.postMessage({ type: "debug", line }) }),
    onProgress: (replayed, all) => {
      if (!started) {
        started = true;
        port.postMessage({ type: "started" });
      }
      Atomics.store(progress, 0, replayed);
      Atomics.store(progress, 1, all ? 1 : 0);
    },
  });
  port.postMessage({ type: "report", report });
} catch (err) {
  port.postMessage({ type: "error", error: describeError(err), exitCode: err instanceof DweError ? err.exitCode : 2 });
} finally {
  await store.close();
  port.close();
}
