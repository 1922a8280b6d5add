import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { GrantCoversDweFiles, InvalidModule, RunNotFound, RunStateError, UpgradeRefused, UsageError } from "../../kernel/errors.js";
import { inspectModule } from "../../runtime/module-loader.js";
import { EntryState, type JournalEntry } from "../../journal/entry.js";
import { opName } from "../../kernel/ops.js";
import { liveLeaseHolder } from "../../store/lease-owner.js";
import { isTerminal, type RunRecord, type Store } from "../../store/types.js";
import { EXIT, type GlobalOptions, dbPath, openStore, parseDurability } from "../context.js";
import { type GrantFlags, grantsFromFlags, parsePositiveInt } from "../options.js";
import { type Grants, describeGrants, widens } from "../../kernel/grants.js";
import { executeAndReport } from "./execute.js";
import { DEFAULT_VERIFY_TIMEOUT_MS } from "./verify.js";
import { verifyInThread } from "../../executor/verify-in-thread.js";
import { refuseGrantsOverDweFiles } from "../../executor/dwe-files.js";

export interface ResumeFlags extends GlobalOptions, GrantFlags {
  /** Accept grant flags that widen the run's stored grants. */
  grant?: boolean;
  upgrade?: string;
  wait?: boolean;
  json?: boolean;
  quiet?: boolean;
  suspendAfter?: string;
}

/** `dwe resume RUN`: replays the run's journal and continues it live. */
export async function resumeCommand(runId: string, flags: ResumeFlags): Promise<number> {
  const suspendAfterMs = flags.suspendAfter === undefined ? undefined : parsePositiveInt(flags.suspendAfter, "--suspend-after");
  let upgrade: { bytes: Uint8Array; path: string } | undefined;
  if (flags.upgrade !== undefined) {
    try {
      upgrade = { bytes: new Uint8Array(readFileSync(flags.upgrade)), path: flags.upgrade };
    } catch (err) {
      throw new UsageError(`cannot read --upgrade module '${flags.upgrade}': ${(err as Error).message}`);
    }
  }
  const store = openStore(flags, false);
  try {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    if (isTerminal(run.status))
      throw new RunStateError(`run ${runId} is ${run.status}; there is nothing to resume (see \`dwe show ${runId}\`)`);
    // A damaged journal is reported before anything is written (not even the lease).
    const journal = await store.readJournal(run.rid);
    const grants = resumeGrants(runId, run.config.grants, flags);
    if (grants === undefined) refuseStoredGrants(runId, run.config.grants, dbPath(flags));
    let upgradeTo: string | undefined;
    if (upgrade) {
      const info = inspectModule(upgrade.bytes, upgrade.path);
      if (!info.exports.includes(run.entry))
        throw new InvalidModule(`${upgrade.path} has no exported function '${run.entry}', the entry of run ${runId}`);
      await store.putModule(info.sha256, info.kind, upgrade.bytes);
      upgradeTo = info.sha256;
      // Checked in full before any wait (for another process's lease, or for a timer): a refusal
      // comes now, not after the wait. The attempt checks again, on the journal as it is then.
      if (waitAhead(run)) await checkUpgrade(store, run, upgradeTo, flags);
    }
    const now = run.status === "running" ? await waitForLease(store, runId, flags.wait !== false) : run;
    if (isTerminal(now.status))
      throw new RunStateError(`run ${runId} is ${now.status} (it ended while this resume waited); there is nothing to resume`);
    // Woken (its signal or child result is there): due now, whatever its deadline says.
    if (now.status === "suspended" && !now.wakeRequested && now.wakeAt !== null && now.wakeAt > Date.now()) {
      const due = new Date(now.wakeAt).toISOString();
      const what = waitsFor(journal);
      if (flags.wait === false) {
        process.stderr.write(`dwe: run ${runId} ${what} until ${due}; resume it after that (or without --no-wait to wait here)\n`);
        return EXIT.suspended;
      }
      process.stderr.write(`dwe: run ${runId} ${what} until ${due}; waiting here (Ctrl-C leaves it suspended)\n`);
      await untilWokenOrDue(store, runId, now.wakeAt);
    }
    return await executeAndReport(store, runId, {
      json: flags.json ?? false,
      quiet: flags.quiet ?? false,
      db: dbPath(flags),
      durability: parseDurability(flags.durability),
      ...(upgradeTo !== undefined && { upgradeTo }),
      ...(grants !== undefined && { grants }),
      ...(suspendAfterMs !== undefined && { suspendAfterMs }),
    });
  } finally {
    await store.close();
  }
}

/**
 * Waits while a process that may be alive holds the run's lease (a dead or zombie holder on this
 * host does not count), saying who and until when; with `wait` false, refuses at once. Returns the
 * run as it is then.
 */
async function waitForLease(store: Store, runId: string, wait: boolean): Promise<RunRecord> {
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
    if (!said)
      process.stderr.write(`dwe: run ${runId} is being executed by ${holder}; waiting for that lease to end (Ctrl-C stops waiting)\n`);
    said = true;
    await delay(Math.max(50, Math.min(LEASE_POLL_MS, (run.leaseExpiresAt ?? 0) - Date.now())));
  }
}

/** Whether resuming `run` now would first wait (or, with --no-wait, refuse): a live holder's lease, a timer not due. */
function waitAhead(run: RunRecord): boolean {
  const now = Date.now();
  if (run.status === "running") return liveLeaseHolder(run, now) !== null;
  return run.status === "suspended" && !run.wakeRequested && run.wakeAt !== null && run.wakeAt > now;
}

/**
 * Replays the run's journal on the upgrade target, without side effects or writes (as `dwe
 * verify`, in a thread with its timeout): refused unless the recorded part replays cleanly.
 */
async function checkUpgrade(store: Store, run: RunRecord, upgradeTo: string, flags: ResumeFlags): Promise<void> {
  const report = await verifyInThread(store, run, {
    db: dbPath(flags),
    durability: parseDurability(flags.durability),
    debug: flags.debug ?? false,
    timeoutMs: run.config.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS,
    module: upgradeTo,
  });
  if (report.intact && report.deterministic) return;
  throw new UpgradeRefused(report);
}

/** How often a waiting `dwe resume` looks again at the run it waits for. */
const LEASE_POLL_MS = 250;

/** Sleeps until `wakeAt`, or until the run is woken meanwhile (a signal sent, a child ended). */
async function untilWokenOrDue(store: Store, runId: string, wakeAt: number): Promise<void> {
  while (Date.now() < wakeAt) {
    await delay(Math.min(LEASE_POLL_MS, wakeAt - Date.now()));
    const run = await store.getRun(runId);
    if (!run || run.status !== "suspended" || run.wakeRequested) return;
  }
}

/** What a suspended run waits for, from its journal's last entry (an intent in flight). */
function waitsFor(journal: readonly JournalEntry[]): string {
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

/**
 * The grants a resume runs with: the stored ones when no grant flag is given; otherwise exactly the
 * flags' grants (they replace the stored ones and are stored), which may only widen the stored
 * grants with --grant.
 */
export function resumeGrants(runId: string, stored: Grants, flags: ResumeFlags): Grants | undefined {
  const given =
    flags.dir !== undefined ||
    flags.allowNet !== undefined ||
    flags.allowEnvOverride !== undefined ||
    (flags.allowShell !== undefined && flags.allowShell !== false);
  if (!given) {
    if (flags.grant)
      throw new UsageError(
        "--grant only confirms grant flags (--dir, --allow-net, --allow-shell, --allow-env-override); give the grants to widen",
      );
    return undefined;
  }
  const grants = grantsFromFlags(flags, process.cwd(), dbPath(flags));
  const extra = widens(stored, grants);
  if (extra.length > 0 && !flags.grant) {
    const had = describeGrants(stored);
    throw new UsageError(
      `resuming run ${runId} with ${extra.join(", ")} would widen the grants it was started with (${had.length ? had.join("; ") : "none"}); ` +
        `add --grant to widen them, or resume without grant flags to use the stored grants`,
    );
  }
  return grants;
}

/** A run whose stored grants expose dwe's own files (made elsewhere, or before dwe refused them) is not resumed as it is. */
function refuseStoredGrants(runId: string, stored: Grants, db: string): void {
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
