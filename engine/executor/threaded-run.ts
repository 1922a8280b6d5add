import { Worker } from "node:worker_threads";
import { ReportedError, ShutdownRequested } from "../kernel/errors.js";
import type { LogRecord } from "../journal/entry.js";
import type { Durability, RunRecord, Store } from "../store/types.js";
import { attemptOptions, type AttemptOptions } from "./run-executor.js";
import type { FromRunThread, RunThreadData, ToRunThread } from "./run-thread-protocol.js";
import { AttemptEnd } from "./run-end.js";
import { heartbeatOf } from "./lease-heartbeat.js";
import { killGroupsOfThread } from "../../host-functions/process-groups.js";

const LEASE_TTL_MS = 30_000;
/** Time the thread gets past the run's timeout to stop the guest at a host call by itself. */
export const TIMEOUT_GRACE_MS = 1_000;

export interface ThreadedRunOptions extends AttemptOptions {
  /** The database file (the thread opens its own connection) and its durability mode. */
  db: string;
  durability: Durability;
  timeoutMs: number;
  /** The run as read just before this attempt: not read again. */
  before?: RunRecord;
  /** Aborted with ShutdownRequested: the run is stopped at its next host call and stays resumable. */
  signal?: AbortSignal;
  onLogs?: (logs: readonly LogRecord[]) => void;
  /** A command's output as it runs (exec with `live`); forwarded only with `onLogs`. */
  onLive?: (stream: "stdout" | "stderr", data: Uint8Array) => void;
}

/**
 * Executes one attempt of a run that has a timeout in a worker thread, so that a guest looping
 * without host calls (which blocks its thread) is stopped: after the timeout (plus a short grace
 * for the run to stop itself at a host call), the thread is terminated and the run recorded as
 * failed with the error `timeout`, fenced by the lease this thread took for it. The lease is
 * renewed from here, so a busy guest does not lose it.
 */
export async function executeInThread(store: Store, runId: string, o: ThreadedRunOptions): Promise<RunRecord> {
  const before = o.before ?? (await store.getRun(runId));
  const lease = await store.acquireLease(runId, o.owner, LEASE_TTL_MS, false);
  const data: RunThreadData = {
    db: o.db,
    durability: o.durability,
    attempt: { ...attemptOptions(o), leaseTtlMs: LEASE_TTL_MS },
    lease,
    previous: before?.status ?? "pending",
    wakeAt: before?.wakeAt ?? null,
    logs: o.onLogs !== undefined,
  };
  const worker = new Worker(new URL("./run-thread.js", import.meta.url), { workerData: data, stdout: false, stderr: false });
  const thread = worker.threadId;
  // A terminated thread cannot end the commands it started: this thread does.
  worker.on("exit", () => killGroupsOfThread(thread));
  const send = (m: ToRunThread) => worker.postMessage(m);
  const heartbeat = heartbeatOf(store, lease, LEASE_TTL_MS, {
    lost: () => send({ type: "lease_lost" }),
    cancel: () => send({ type: "cancel" }),
  });
  const onShutdown = () => {
    const reason: unknown = o.signal?.reason;
    send({ type: "shutdown", signal: reason instanceof ShutdownRequested ? reason.signal : "SIGTERM" });
  };
  o.signal?.addEventListener("abort", onShutdown, { once: true });
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    void worker.terminate();
  }, o.timeoutMs + TIMEOUT_GRACE_MS);
  try {
    const outcome = await new Promise<{ error?: ReportedError; died?: string }>((resolve) => {
      let settled = false;
      const settle = (v: { error?: ReportedError; died?: string }) => {
        if (!settled) {
          settled = true;
          resolve(v);
        }
      };
      worker.on("message", (m: FromRunThread) => {
        if (m.type === "logs") o.onLogs?.(m.logs);
        else if (m.type === "live") o.onLive?.(m.stream, m.data);
        else if (m.type === "done") settle({});
        else settle({ error: new ReportedError(m.error.code, m.error.message, m.exitCode) });
      });
      worker.on("error", (err) => settle({ died: err.message }));
      worker.on("exit", (code) => settle({ died: timedOut ? "timeout" : `the run's thread exited with code ${code}` }));
    });
    if (outcome.error) throw outcome.error;
    if (outcome.died !== undefined) {
      await worker.terminate();
      // The thread is gone; if the run is still ours and running, record why it ended.
      const now = await store.getRun(runId);
      if (now && now.status === "running" && now.leaseOwner === lease.owner && now.leaseToken === lease.token) {
        const error =
          outcome.died === "timeout"
            ? {
                code: "timeout",
                message: `run ${runId} ran past its timeout of ${o.timeoutMs} ms (its code did not return to the host) and was stopped; raise --timeout if it needs longer`,
              }
            : { code: "internal", message: outcome.died };
        await new AttemptEnd(store, lease).write({ status: "failed", error });
      }
    }
  } finally {
    clearTimeout(watchdog);
    heartbeat.stop();
    o.signal?.removeEventListener("abort", onShutdown);
  }
  return (await store.getRun(runId))!;
}
