// A verification replay in a thread of its own, stopped after a timeout (a guest looping without
// host calls cannot hold up the caller): `dwe verify`, and `dwe resume --upgrade`'s check.
import { Worker } from "node:worker_threads";
import { ReportedError } from "../kernel/errors.js";
import type { Durability, RunRecord, Store } from "../store/types.js";
import { timedOutReport, type VerifyReport } from "./verify-run.js";
import type { VerifyThreadData } from "./verify-thread.js";

/** Default time a verification replay may take when the run has no timeout of its own. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 60_000;

export interface VerifyInThreadOptions {
  db: string;
  durability: Durability;
  /** Told the replay's debug lines (`--debug`). */
  onDebug?: (line: string) => void;
  /** From the start of the replay (not the loading of the module and journal). */
  timeoutMs: number;
  /** Replay on this stored module (sha256) instead of the run's own. */
  module?: string;
}

export async function verifyInThread(store: Store, run: RunRecord, o: VerifyInThreadOptions): Promise<VerifyReport> {
  const progress = new SharedArrayBuffer(8);
  const data: VerifyThreadData = {
    db: o.db,
    durability: o.durability,
    runId: run.id,
    progress,
    debug: o.onDebug !== undefined,
    ...(o.module !== undefined && { module: o.module }),
  };
  const worker = new Worker(new URL("./verify-thread.js", import.meta.url), { workerData: data });
  let timer: NodeJS.Timeout | undefined;
  return new Promise<VerifyReport>((resolve, reject) => {
    const startWatchdog = () =>
      (timer = setTimeout(() => {
        void worker.terminate().then(async () => {
          const p = new Int32Array(progress);
          const entries = (await store.summarizeJournal(run.rid)).entries;
          resolve(timedOutReport(run, entries, Atomics.load(p, 0), Atomics.load(p, 1) === 1, o.timeoutMs));
        }, reject);
      }, o.timeoutMs));
    worker.on(
      "message",
      (
        m:
          | { type: "started" }
          | { type: "report"; report: VerifyReport }
          | { type: "error"; error: { code: string; message: string }; exitCode: number }
          | { type: "debug"; line: string },
      ) => {
        if (m.type === "started") startWatchdog();
        else if (m.type === "debug") o.onDebug?.(m.line);
        else if (m.type === "report") resolve(m.report);
        else reject(new ReportedError(m.error.code, m.error.message, m.exitCode));
      },
    );
    worker.on("error", reject);
  }).finally(() => clearTimeout(timer));
}
