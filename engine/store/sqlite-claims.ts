import type Database from "better-sqlite3";
import { LeaseLost } from "../kernel/errors.js";
import { checkLeaseTakeable, ownerIsDeadLocally } from "./lease-owner.js";
import { type RunRow, toRecord } from "./rows.js";
import { CANCELLED_ERROR, endColumns, planCancel, planTerminate, TERMINATED_ERROR } from "./rules.js";
import { type Statements, mustGet } from "./sqlite-statements.js";
import type { CancelOutcome, ClaimedRun, Lease, LeaseCheck, RunEnd, RunStatus, TerminateOutcome } from "./types.js";

// Leases: taking one for a run, ending a run under one, workers' claims and renewals, and cancelling.

export function acquireLease(db: Database.Database, stmt: Statements, runId: string, owner: string, ttlMs: number, steal: boolean): Lease {
  const take = db.transaction((): Lease => {
    const run = mustGet(stmt, runId);
    const now = Date.now();
    checkLeaseTakeable(run, steal, now);
    const expiresAt = now + ttlMs;
    stmt.takeLease.run(owner, expiresAt, now, run.rid);
    const attempt = stmt.startAttempt.get({ rid: run.rid, owner, now }) as number;
    return { runId, rid: run.rid, owner, token: run.leaseToken + 1, expiresAt, attempt };
  });
  return take.immediate();
}

/** The writes of `finishRun`, inside the caller's transaction (the store's commit group). */
export function finishNow(stmt: Statements, lease: Lease, end: RunEnd): void {
  const now = Date.now();
  const c = endColumns(end, now);
  // The row's parent comes back with the update: a run without one costs no statement more.
  const ended = stmt.finish.get({
    rid: lease.rid,
    token: lease.token,
    status: c.status,
    output: c.output,
    error: c.error,
    wakeAt: c.wakeAt,
    finishedAt: c.finishedAt,
    undo: c.undo,
    crashed: c.crashed ? 1 : 0,
    now,
  }) as { parent_id: string | null } | undefined;
  if (ended === undefined) throw new LeaseLost(lease.runId);
  stmt.endAttempt.run(now, c.outcome, c.error, lease.rid, lease.attempt);
  if (c.terminal && ended.parent_id !== null) stmt.wakeById.run(ended.parent_id);
}

interface ClaimableRow {
  rid: number;
  id: string;
  status: RunStatus;
  wake_at: number | null;
  lease_token: number;
  cancel_requested: number;
  crashes: number;
}

export function claimRuns(
  db: Database.Database,
  stmt: Statements,
  owner: string,
  limit: number,
  ttlMs: number,
  now: number,
  takeOver: boolean,
): ClaimedRun[] {
  const called = Date.now();
  const claim = db.transaction((): ClaimedRun[] => {
    // Times read now, with the write lock held: a lease counts from when it is granted, not from
    // before a wait for the lock. A claim that waited long for the lock takes no expired lease
    // over: their holders were most likely blocked by the same lock, unable to renew (docs/worker.md).
    const locked = Date.now();
    const takeover = takeOver && locked - called <= ttlMs / 3 ? 1 : 0;
    const rows = stmt.claimable.all({ now, limit, takeover }) as ClaimableRow[];
    // Runs whose holder is a dead (or zombie) process on this host are taken at once, not after
    // their lease expires: a SIGKILLed worker's runs go on at the next poll. A dead holder cannot
    // renew or write, so no stall rule applies to it.
    if (rows.length < limit) {
      for (const holder of stmt.liveLeaseOwners.all(locked) as string[]) {
        if (holder === owner || !ownerIsDeadLocally(holder)) continue;
        rows.push(...(stmt.runsHeldBy.all(holder, locked, limit - rows.length) as ClaimableRow[]));
        if (rows.length >= limit) break;
      }
    }
    const out: ClaimedRun[] = [];
    for (const r of rows) {
      if (r.cancel_requested) {
        cancelRow(stmt, r.rid, locked);
        continue;
      }
      const expiresAt = locked + ttlMs;
      const run = toRecord(stmt.claim.get(owner, expiresAt, locked, r.rid) as RunRow);
      const attempt = stmt.startAttempt.get({ rid: r.rid, owner, now: locked }) as number;
      out.push({
        lease: { runId: r.id, rid: r.rid, owner, token: run.leaseToken, expiresAt, attempt },
        previous: r.status,
        wakeAt: r.wake_at,
        timeoutMs: run.config.timeoutMs,
        crashes: r.crashes,
        run,
      });
    }
    return out;
  });
  return claim.immediate();
}

function cancelRow(stmt: Statements, rid: number, now: number): void {
  stmt.cancelNow.run(CANCELLED_ERROR, now, now, rid);
  stmt.wakeParent.run(rid);
}

export function renewLeases(db: Database.Database, stmt: Statements, leases: readonly Lease[], ttlMs: number): LeaseCheck[] {
  const renew = db.transaction((): LeaseCheck[] => {
    const expiresAt = Date.now() + ttlMs;
    return leases.map((l) => {
      const held = stmt.renewLease.run(expiresAt, l.rid, l.token).changes === 1;
      if (held) l.expiresAt = expiresAt;
      const flag = held ? (stmt.cancelFlag.get(l.rid, l.token) as number | undefined) : 0;
      return { runId: l.runId, held, cancelRequested: flag === 1 };
    });
  });
  return renew.immediate();
}

export function requestCancel(db: Database.Database, stmt: Statements, runId: string): CancelOutcome {
  const cancel = db.transaction((): CancelOutcome => {
    const now = Date.now();
    const plan = planCancel(runId, (stmt.family.all(runId) as RunRow[]).map(toRecord), now);
    for (const rid of plan.ask) stmt.askCancel.run(now, rid);
    for (const rid of plan.cancel) cancelRow(stmt, rid, now);
    return plan.outcome;
  });
  return cancel.immediate();
}

export function terminate(db: Database.Database, stmt: Statements, runId: string): TerminateOutcome {
  const end = db.transaction((): TerminateOutcome => {
    const now = Date.now();
    const plan = planTerminate(runId, (stmt.family.all(runId) as RunRow[]).map(toRecord));
    for (const rid of plan.terminate) {
      stmt.terminateNow.run({ error: TERMINATED_ERROR, now, rid });
      stmt.endOpenAttempt.run({ error: TERMINATED_ERROR, now, rid });
      stmt.wakeParent.run(rid);
    }
    return plan.outcome;
  });
  return end.immediate();
}
