// `dwe resume` as the library does it (Dwe.resume): the checks made before anything is written, the
// grants it continues with, the upgrade's check, the waits (for another live process's lease, for
// the run's timer), then an attempt here with the child runs it waits for.
import { setTimeout as delay } from "node:timers/promises";
import { GrantCoversDweFiles, InvalidModule, RunNotDue, RunNotFound, RunStateError, UpgradeRefused, UsageError } from "../kernel/errors.js";
import { EntryState, type JournalEntry } from "../journal/entry.js";
import { opName } from "../kernel/ops.js";
import { type Grants, describeGrants, widens } from "../kernel/grants.js";
import { inspectModule } from "../runtime/module-loader.js";
import { liveLeaseHolder } from "../store/lease-owner.js";
import { isTerminal, type Durability, type RunRecord, type Store } from "../store/types.js";
import { refuseGrantsOverDweFiles } from "../executor/dwe-files.js";
import { DEFAULT_VERIFY_TIMEOUT_MS, verifyInThread } from "../executor/verify-in-thread.js";
import { resolveGrants } from "./grant-spec.js";
import { readModule } from "./prepare-run.js";
import type { ExecuteOptions, ResumeOptions, WaitsFor } from "./types.js";
import type { ExecuteHereOptions } from "./execute-here.js";

/** What resuming needs of its Dwe: the store and where it is, and how a run is executed here. */
export interface ResumeHost {
  store: Store;
  db: string;
  durability: Durability;
  cwd: string;
  execute: (runId: string, o: ExecuteOptions & Pick<ExecuteHereOptions, "journal">) => Promise<RunRecord>;
}

/** How often a waiting resume looks again at the run it waits for. */
const POLL_MS = 250;

export async function resumeRun(h: ResumeHost, runId: string, o: ResumeOptions): Promise<RunRecord> {
  const upgrade = o.upgrade === undefined ? undefined : readModule(o.upgrade);
  const { store } = h;
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  if (isTerminal(run.status))
    throw new RunStateError(`run ${runId} is ${run.status}; there is nothing to resume (see \`dwe show ${runId}\`)`);
  // A damaged journal is reported before anything is written (not even the lease).
  const journal = await store.readJournal(run.rid);
  const grants = resumeGrants(h, run, o);
  if (grants === undefined) refuseStoredGrants(runId, run.config.grants, h.db);
  let upgradeTo: string | undefined;
  if (upgrade) {
    upgradeTo = await storeUpgrade(store, run, upgrade);
    // Checked in full before any wait (for another process's lease, or for a timer): a refusal
    // comes now, not after the wait. The attempt checks again, on the journal as it is then.
    if (waitAhead(run)) await checkUpgrade(h, run, upgradeTo, o);
  }
  const wait = o.wait !== false;
  const now = run.status === "running" ? await waitForLease(store, runId, wait, o) : run;
  // Stopped while waiting (Ctrl-C): the run is as it was.
  if (o.signal?.aborted) return now;
  if (isTerminal(now.status))
    throw new RunStateError(`run ${runId} is ${now.status} (it ended while this resume waited); there is nothing to resume`);
  // Woken (its signal or child result is there): due now, whatever its deadline says.
  if (now.status === "suspended" && !now.wakeRequested && now.wakeAt !== null && now.wakeAt > Date.now()) {
    const what = waitsFor(journal);
    if (!wait) throw new RunNotDue(runId, what, now.wakeAt);
    o.onWait?.({ for: "timer", what, until: now.wakeAt });
    if (!(await untilWokenOrDue(store, runId, now.wakeAt, o.signal))) return (await store.getRun(runId)) ?? now;
  }
  return h.execute(runId, {
    // Read for the checks above: the attempt's journal too, unless a process took the run meanwhile.
    ...(now === run && run.status !== "running" && { journal: { entries: journal, token: run.leaseToken } }),
    ...(upgradeTo !== undefined && { upgradeTo }),
    ...(grants !== undefined && { grants }),
    ...(o.suspendAfterMs !== undefined && { suspendAfterMs: o.suspendAfterMs }),
    ...(o.signal && { signal: o.signal }),
    ...(o.onLogs && { onLogs: o.onLogs }),
    ...(o.onLive && { onLive: o.onLive }),
    ...(o.onChildError && { onChildError: o.onChildError }),
    ...(o.progress && { progress: o.progress }),
  });
}

/** Stores the upgrade's module, once it is known to have the run's entry; its sha256. */
export async function storeUpgrade(store: Store, run: RunRecord, upgrade: { bytes: Uint8Array; name: string }): Promise<string> {
  const info = inspectModule(upgrade.bytes, upgrade.name);
  if (!info.exports.includes(run.entry))
    throw new InvalidModule(`${upgrade.name} has no exported function '${run.entry}', the entry of run ${run.id}`);
  await store.putModule(info.sha256, info.kind, upgrade.bytes);
  return info.sha256;
}

/**
 * The grants a resume runs with: the stored ones without `grants`; otherwise exactly those (they
 * replace the stored ones and are stored), which may widen the stored grants only with `widenGrants`.
 */
export function resumeGrants(h: ResumeHost, run: RunRecord, o: ResumeOptions): Grants | undefined {
  if (o.grants === undefined) {
    if (o.widenGrants)
      throw new UsageError(
        "--grant only confirms grant flags (--dir, --allow-net, --allow-shell, --allow-env-override); give the grants to widen",
      );
    return undefined;
  }
  const grants = resolveGrants(o.grants, h.cwd, h.db);
  const stored = run.config.grants;
  const extra = widens(stored, grants);
  if (extra.length > 0 && !o.widenGrants) {
    const had = describeGrants(stored);
    throw new UsageError(
      `resuming run ${run.id} with ${extra.join(", ")} would widen the grants it was started with (${had.length ? had.join("; ") : "none"}); ` +
        `add --grant to widen them, or resume without grant flags to use the stored grants`,
    );
  }
  return grants;
}

/** A run whose stored grants expose dwe's own files (made elsewhere, or before dwe refused them) is not resumed as it is. */
export function refuseStoredGrants(runId: string, stored: Grants, db: string): void {
  try {
    refuseGrantsOverDweFiles(stored, db);
  } catch (err) {
    if (!(err instanceof GrantCoversDweFiles)) throw err;
    throw new GrantCoversDweFiles(
      `run ${runId} was not resumed: its stored grant ${err.message.replace(/; [^;]*$/, "")}; ` +
        `resume it with grant flags that leave it out (with --grant for a directory it did not have)`,
    );
  }
}

/**
 * Waits while a process that may be alive holds the run's lease (a dead or zombie holder on this
 * host does not count), telling `onWait` who and until when; with `wait` false, refuses at once.
 * Returns the run as it is then.
 */
async function waitForLease(store: Store, runId: string, wait: boolean, o: ResumeOptions): Promise<RunRecord> {
  let said = false;
  for (;;) {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    const holder = run.status === "running" ? liveLeaseHolder(run, Date.now()) : null;
    if (holder === null) return run;
    if (!wait) {
      throw new RunStateError(
        `run ${runId} is being executed by ${holder}; not resumed (--no-wait): wait for it, or stop that process and try again`,
      );
    }
    if (!said) o.onWait?.({ for: "lease", holder });
    said = true;
    if (!(await sleep(Math.max(50, Math.min(POLL_MS, (run.leaseExpiresAt ?? 0) - Date.now())), o.signal))) return run;
  }
}

/** Whether resuming `run` now would first wait (or, with `wait` false, refuse): a live holder's lease, a timer not due. */
function waitAhead(run: RunRecord): boolean {
  const now = Date.now();
  if (run.status === "running") return liveLeaseHolder(run, now) !== null;
  return run.status === "suspended" && !run.wakeRequested && run.wakeAt !== null && run.wakeAt > now;
}

/**
 * Replays the run's journal on the upgrade target, without side effects or writes (as `dwe
 * verify`, in a thread with its timeout): refused unless the recorded part replays cleanly, or,
 * given `replayed` (a retry, which keeps only that many entries), at least its first `replayed`.
 */
export async function checkUpgrade(h: ResumeHost, run: RunRecord, upgradeTo: string, o: ResumeOptions, replayed?: number): Promise<void> {
  const report = await verifyInThread(h.store, run, {
    db: h.db,
    durability: h.durability,
    timeoutMs: run.config.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS,
    module: upgradeTo,
    ...(o.onDebug && { onDebug: o.onDebug }),
  });
  if (report.intact && (report.deterministic || (replayed !== undefined && report.replayed >= replayed))) return;
  throw new UpgradeRefused(report);
}

/** Sleeps `ms`; false when `signal` was aborted (now or meanwhile). */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return false;
  return delay(ms, undefined, signal ? { signal } : {}).then(
    () => true,
    () => false,
  );
}

/**
 * Sleeps until `wakeAt`, or until the run is woken meanwhile (a signal sent, a child ended); false
 * when `signal` was aborted first.
 */
async function untilWokenOrDue(store: Store, runId: string, wakeAt: number, signal: AbortSignal | undefined): Promise<boolean> {
  while (Date.now() < wakeAt) {
    if (!(await sleep(Math.min(POLL_MS, wakeAt - Date.now()), signal))) return false;
    const run = await store.getRun(runId);
    if (!run || run.status !== "suspended" || run.wakeRequested) return true;
  }
  return true;
}

/** What a suspended run waits for, from its journal's last entry (an intent in flight). */
function waitsFor(journal: readonly JournalEntry[]): WaitsFor {
  const last = journal.at(-1);
  if (last?.state !== EntryState.Intent) return "sleeps";
  switch (opName(last.op)) {
    case "signal.wait":
      return "waits for a signal";
    case "child.join":
      return "waits for a child run";
    default:
      return "sleeps";
  }
}
