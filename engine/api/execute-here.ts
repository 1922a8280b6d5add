import type { JournalEntry, LogRecord } from "../journal/entry.js";
import { executeRun } from "../executor/run-executor.js";
import { executeInThread } from "../executor/threaded-run.js";
import { executeFamily } from "../executor/run-family.js";
import { newOwnerId } from "../store/lease-owner.js";
import type { Durability, Lease, RunRecord, Store } from "../store/types.js";
import type { Grants } from "../kernel/grants.js";
import { DweError } from "../kernel/errors.js";
import type { LiveHandler } from "./types.js";
import type { RunProgress } from "../executor/run-progress.js";
import type { Telemetry } from "../telemetry/telemetry.js";

export interface ExecuteHereOptions {
  cwd: string;
  /** The database (path or URL) and durability a run with a timeout opens in its own thread. */
  db: string;
  durability: Durability;
  upgradeTo?: string;
  grants?: Grants;
  /** The root's journal as read before (see ExecuteOptions.journal in run-executor.ts); executing here only. */
  journal?: { entries: JournalEntry[]; token: number };
  suspendAfterMs?: number;
  signal?: AbortSignal;
  /** Log lines of any run of the family, once each, as they are committed. */
  onLogs?: (runId: string, logs: readonly LogRecord[]) => void;
  onLive?: LiveHandler;
  onChildError: (runId: string, message: string) => void;
  /**
   * The root's lease, taken as it was created (`createLeasedRun`): its first attempt here runs under
   * it instead of taking one (so no worker can claim the run in between).
   */
  claimed?: Lease;
  /** Where attempts executed here report (a run with a timeout: its thread exports its own spans). */
  telemetry?: Telemetry;
  /** Told of every journaled call of the run (not its children's). */
  progress?: RunProgress;
}

/**
 * Executes a run in this process together with the child runs it waits for (`dwe run`,
 * `dwe resume`, `Dwe.execute`); returns the run as stored once it has ended or cannot go on here.
 * The root gets the upgrade and the new grants.
 */
export async function executeHere(store: Store, runId: string, o: ExecuteHereOptions): Promise<RunRecord> {
  let claimed = o.claimed ?? null;
  const owner = claimed?.owner ?? newOwnerId();
  const signal = o.signal ?? new AbortController().signal;
  const executeOne = (id: string): Promise<RunRecord> => terminatedOr(store, id, executeThis(id));
  const executeThis = async (id: string): Promise<RunRecord> => {
    const root = id === runId;
    // The lease taken at creation serves the root's first attempt only.
    const lease = root ? claimed : null;
    if (root) claimed = null;
    // Read once here, for its timeout and as the attempt's state before it takes the lease.
    const before = await store.getRun(id);
    const timeoutMs = before?.config.timeoutMs ?? null;
    const common = {
      owner,
      cwd: o.cwd,
      signal,
      ...(before && { before }),
      ...(root && o.upgradeTo !== undefined && { upgradeTo: o.upgradeTo }),
      ...(root && o.grants !== undefined && { grants: o.grants }),
      ...(o.suspendAfterMs !== undefined && { suspendAfterMs: o.suspendAfterMs }),
      ...(root && o.progress && { progress: o.progress }),
    };
    const journal = root ? o.journal : undefined;
    const onLogs = o.onLogs;
    // A run with a timeout executes in a thread that can be terminated: a guest looping without
    // host calls blocks its thread, and only terminating it stops the loop.
    if (timeoutMs !== null) {
      return executeInThread(store, id, {
        ...common,
        db: o.db,
        durability: o.durability,
        timeoutMs,
        ...(lease && { lease }),
        ...(onLogs && { onLogs: (logs: readonly LogRecord[]) => onLogs(id, logs) }),
        ...(o.onLive && { onLive: o.onLive }),
      });
    }
    return executeRun(id, {
      ...common,
      ...(o.telemetry && { telemetry: o.telemetry }),
      ...(journal && { journal }),
      ...(lease && { claimed: { lease, previous: "pending" as const, wakeAt: null } }),
      store,
      ...(onLogs && { onLogs: (_run: RunRecord, logs: readonly LogRecord[]) => onLogs(id, logs) }),
      ...(o.onLive && { onLive: (_run: RunRecord, stream: "stdout" | "stderr", data: Uint8Array) => o.onLive!(stream, data) }),
    });
  };
  // Child runs the run waits for are executed here too (unless a worker takes them first).
  return executeFamily(runId, { store, executeOne, signal, onError: o.onChildError });
}

/**
 * A run `dwe terminate` ended while this process held it: its attempt stopped with its lease lost
 * (at a host call, in this thread or the run's own); the run as stored is the outcome, not an error.
 */
async function terminatedOr(store: Store, id: string, attempt: Promise<RunRecord>): Promise<RunRecord> {
  try {
    return await attempt;
  } catch (err) {
    if (!(err instanceof DweError) || err.code !== "lease_lost") throw err;
    const run = await store.getRun(id);
    if (run?.status === "cancelled" && run.error?.code === "terminated") return run;
    throw err;
  }
}
