// `dwe run --timeout` (and `dwe resume` of a run with a timeout): one attempt in an attempt thread
// (attempt-thread.ts), so that a guest looping without host calls, which blocks its thread, is stopped.
import { ReportedError, ShutdownRequested, type ThreadError } from "../kernel/errors.js";
import type { LogRecord } from "../journal/entry.js";
import type { Durability, Lease, RunEnd, RunRecord, Store } from "../store/types.js";
import { attemptOptions, type AttemptOptions } from "./run-executor.js";
import { AttemptEnd } from "./run-end.js";
import { heartbeatOf } from "./lease-heartbeat.js";
import { AttemptThread } from "./attempt-thread.js";
import type { RunProgress } from "./run-progress.js";

const LEASE_TTL_MS = 30_000;

export interface ThreadedRunOptions extends AttemptOptions {
  /** The database file (the thread opens its own connection) and its durability mode. */
  db: string;
  durability: Durability;
  timeoutMs: number;
  /** A lease already taken (the run was created under it): used instead of taking one. */
  lease?: Lease;
  /** The run as read just before this attempt: not read again. */
  before?: RunRecord;
  /** Aborted with ShutdownRequested: the run is stopped at its next host call and stays resumable. */
  signal?: AbortSignal;
  onLogs?: (logs: readonly LogRecord[]) => void;
  /** A command's output as it runs (exec with `live`); forwarded only with `onLogs`. */
  onLive?: (stream: "stdout" | "stderr", data: Uint8Array) => void;
  /** Told of every journaled call, in the thread (see RunProgress). */
  progress?: RunProgress;
}

/**
 * Executes one attempt of a run that has a timeout in an attempt thread, under a lease taken and
 * renewed here (a busy guest does not lose it). When the thread is stopped (its guest past its
 * timeout, or cancelled and still in its own code) or dies, the run's end is written here with that
 * lease, if the attempt did not write it.
 */
export async function executeInThread(store: Store, runId: string, o: ThreadedRunOptions): Promise<RunRecord> {
  const before = o.lease ? undefined : (o.before ?? (await store.getRun(runId)));
  const lease = o.lease ?? (await store.acquireLease(runId, o.owner, LEASE_TTL_MS, false));
  const JOB = 1;
  const seen: { thrown?: ThreadError; end?: RunEnd } = {};
  const thread = new AttemptThread({
    db: o.db,
    durability: o.durability,
    attempt: { ...attemptOptions(o), leaseTtlMs: LEASE_TTL_MS },
    on: (e) => {
      if (e.type === "logs") o.onLogs?.(e.logs);
      else if (e.type === "live") o.onLive?.(e.stream, e.data);
      else if (e.type === "failed") seen.thrown = e.error;
      else if (e.type === "ended" || e.type === "verified") return;
      else if (e.type === "exit" && e.jobs.includes(JOB)) {
        // The attempt did not end by itself: the thread was stopped for it (with nothing to write
        // when its lease is lost: terminated, or taken over), or died.
        if (e.stopped?.job === JOB) seen.end = e.stopped.end ?? undefined;
        else seen.end = { status: "failed", error: { code: "internal", message: e.crash?.why ?? "the run's thread ended" } };
      }
    },
  });
  const heartbeat = heartbeatOf(store, lease, LEASE_TTL_MS, {
    lost: () => thread.leaseLost(JOB),
    cancel: () => thread.stop(JOB, { kind: "cancel" }),
  });
  const onShutdown = () => {
    const reason: unknown = o.signal?.reason;
    thread.abort(JOB, { kind: "shutdown", signal: reason instanceof ShutdownRequested ? reason.signal : "SIGTERM" });
  };
  o.signal?.addEventListener("abort", onShutdown, { once: true });
  try {
    thread.start(
      {
        kind: "attempt",
        job: JOB,
        lease,
        previous: before?.status ?? "pending",
        wakeAt: before?.wakeAt ?? null,
        logs: o.onLogs !== undefined,
        ...(o.progress && { progress: o.progress.buffer }),
      },
      runId,
      o.timeoutMs,
    );
    await thread.close();
    if (seen.thrown) throw new ReportedError(seen.thrown);
    // The thread is gone; if the run is still ours and running, record why it ended.
    const end = seen.end;
    if (end) {
      const now = await store.getRun(runId);
      if (now && now.status === "running" && now.leaseOwner === lease.owner && now.leaseToken === lease.token) {
        await new AttemptEnd(store, lease).write(end);
      }
    }
  } finally {
    heartbeat.stop();
    o.signal?.removeEventListener("abort", onShutdown);
  }
  return (await store.getRun(runId))!;
}
