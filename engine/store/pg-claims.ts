import { RunNotFound } from "../kernel/errors.js";
import { checkLeaseTakeable } from "./lease-owner.js";
import { DEAD_WORKERS, RUN_COLUMNS } from "./pg-worker-session.js";
import type { Db, Query } from "./pg-connection.js";
import { type RunRow, toRecord } from "./rows.js";
import { CANCELLED_ERROR, planCancel, planTerminate, TERMINATED_ERROR } from "./rules.js";
import type { CancelOutcome, ClaimedRun, Lease, LeaseCheck, RunRecord, RunStatus, TerminateOutcome } from "./types.js";

// Leases: taking one for a run, renewing it (ending a run under it: pg-commit-group.ts); workers' claims and renewals; cancelling and terminating.

/** The columns a claim reads of a run, and when it is due (claims take the oldest due first). */
const CLAIM_COLUMNS = "rid, id, status, wake_at, cancel_requested, crashes, COALESCE(wake_at, created_at) AS due";

/**
 * One branch per way a run becomes claimable, each read in index order and cut at the limit ($2),
 * its rows locked as they are read; rows another worker's claim (or a journal write) holds are
 * skipped, not waited for. A claim reads at most 5 × limit rows however many runs wait (indexes of
 * migration 9); a suspended run both due and asked to wake is in the branch of due runs only. The
 * last branch: runs held by a worker whose database session is gone (it died), taken at once, not
 * after their lease; a dead session cannot renew or write, so no stall rule applies to it.
 */
const CLAIMABLE_BRANCHES = [
  "status = 'pending'",
  "status = 'suspended' AND wake_at <= $1",
  "wake_requested = 1 AND status = 'suspended' AND NOT (wake_at IS NOT NULL AND wake_at <= $1)",
  "$3::boolean AND status = 'running' AND (lease_expires IS NULL OR lease_expires <= $1)",
  `status = 'running' AND lease_expires > $1 AND lease_owner <> $4 AND lease_owner IN (${DEAD_WORKERS})`,
];
const CLAIMABLE = `WITH ${CLAIMABLE_BRANCHES.map(
  (where, i) =>
    `b${i} AS (SELECT ${CLAIM_COLUMNS} FROM runs WHERE ${where} ORDER BY COALESCE(wake_at, created_at), rid LIMIT $2 FOR UPDATE SKIP LOCKED)`,
).join(",\n  ")}
SELECT rid, id, status, wake_at, cancel_requested, crashes FROM (${CLAIMABLE_BRANCHES.map((_, i) => `SELECT * FROM b${i}`).join(" UNION ALL ")}) c
  ORDER BY due, rid LIMIT $2`;

/**
 * After a CTE `u` that took leases (rid of each run, owner $1, time $3): a new attempt for each, numbered
 * after the run's last one (the run's row is locked, so two cannot pick the same number).
 */
const START_ATTEMPTS = `a AS (INSERT INTO attempts (rid, number, owner, started_at)
         SELECT u.rid, COALESCE((SELECT MAX(number) FROM attempts x WHERE x.rid = u.rid), 0) + 1, $1, $3 FROM u RETURNING rid, number)`;

export async function acquireLease(c: Db, runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease> {
  // With holder_dead: a worker whose session ended holds nothing any more (as its claims see it).
  const row = (await c.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1 FOR UPDATE OF runs`, [runId])).rows[0];
  if (!row) throw new RunNotFound(runId);
  const run = toRecord(row);
  const now = Date.now();
  checkLeaseTakeable(run, steal, now);
  const expiresAt = now + ttlMs;
  const r = await c.query<{ lease_token: number; attempt: number }>(
    `WITH u AS (UPDATE runs SET lease_owner = $1, lease_expires = $2, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, updated_at = $3 WHERE rid = $4 RETURNING rid, lease_token),
       ${START_ATTEMPTS}
       SELECT u.lease_token, a.number AS attempt FROM u JOIN a ON a.rid = u.rid`,
    [owner, expiresAt, now, run.rid],
  );
  const taken = r.rows[0]!;
  return { runId, rid: run.rid, owner, token: taken.lease_token, expiresAt, attempt: taken.attempt };
}

export async function renewLease(q: Query, lease: Lease, ttlMs: number): Promise<boolean> {
  const expiresAt = Date.now() + ttlMs;
  const r = await q("UPDATE runs SET lease_expires = $1 WHERE rid = $2 AND lease_token = $3", [expiresAt, lease.rid, lease.token], true);
  const ok = r.rowCount === 1;
  if (ok) lease.expiresAt = expiresAt;
  return ok;
}

/** The body of claimRuns' transaction (the caller returns [] for a limit of 0 or less). */
export async function claimRuns(c: Db, owner: string, limit: number, ttlMs: number, now: number, takeOver: boolean): Promise<ClaimedRun[]> {
  const rows = (
    await c.query<{
      rid: number;
      id: string;
      status: RunStatus;
      wake_at: number | null;
      cancel_requested: number;
      crashes: number;
    }>(CLAIMABLE, [now, limit, takeOver, owner])
  ).rows;
  const out: ClaimedRun[] = [];
  const take = rows.filter((r) => !r.cancel_requested);
  for (const r of rows) if (r.cancel_requested) await cancelRow(c, r.rid, now);
  if (take.length === 0) return out;
  // From when the rows are held, not from `now` (read before waiting for a connection and the rows).
  const locked = Date.now();
  const expiresAt = locked + ttlMs;
  // Each run comes back as the claim left it, with its new attempt's number.
  const taken = new Map(
    (
      await c.query<RunRow & { attempt: number }>(
        `WITH u AS (UPDATE runs SET lease_owner = $1, lease_expires = $2, lease_token = lease_token + 1, status = 'running',
             attempts = attempts + 1, wake_requested = 0, updated_at = $3 WHERE rid = ANY($4::bigint[]) RETURNING *),
           ${START_ATTEMPTS}
           SELECT u.*, a.number AS attempt FROM u JOIN a ON a.rid = u.rid`,
        [owner, expiresAt, locked, take.map((r) => r.rid)],
      )
    ).rows.map((r) => [r.rid, r]),
  );
  for (const r of take) {
    const row = taken.get(r.rid)!;
    const run = toRecord(row);
    out.push({
      lease: { runId: r.id, rid: r.rid, owner, token: run.leaseToken, expiresAt, attempt: row.attempt },
      previous: r.status,
      wakeAt: r.wake_at,
      timeoutMs: run.config.timeoutMs,
      crashes: r.crashes,
      run,
    });
  }
  return out;
}

export async function renewLeases(q: Query, leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]> {
  if (leases.length === 0) return [];
  const expiresAt = Date.now() + ttlMs;
  const r = await q<{ rid: number; lease_token: number; cancel_requested: number }>(
    `UPDATE runs r SET lease_expires = $1 FROM unnest($2::bigint[], $3::bigint[]) AS l(rid, token)
       WHERE r.rid = l.rid AND r.lease_token = l.token RETURNING r.rid, r.lease_token, r.cancel_requested`,
    [expiresAt, leases.map((l) => l.rid), leases.map((l) => l.token)],
    true,
  );
  const held = new Map(r.rows.map((row) => [`${row.rid}:${row.lease_token}`, row.cancel_requested]));
  return leases.map((l) => {
    const flag = held.get(`${l.rid}:${l.token}`);
    if (flag !== undefined) l.expiresAt = expiresAt;
    return { runId: l.runId, held: flag !== undefined, cancelRequested: flag === 1 };
  });
}

/** A run and its descendants, locked (parents first): what cancellation and termination walk. */
async function lockedFamily(c: Db, runId: string): Promise<RunRecord[]> {
  return (
    await c.query<RunRow>(
      `WITH RECURSIVE fam(id) AS (SELECT $1::text UNION SELECT r.id FROM runs r JOIN fam ON r.parent_id = fam.id)
           SELECT * FROM runs WHERE id IN (SELECT id FROM fam) ORDER BY rid FOR UPDATE`,
      [runId],
    )
  ).rows.map(toRecord);
}

export async function requestCancel(c: Db, runId: string): Promise<CancelOutcome> {
  const family = await lockedFamily(c, runId);
  const now = Date.now();
  const plan = planCancel(runId, family, now);
  for (const rid of plan.ask) await c.query("UPDATE runs SET cancel_requested = 1, updated_at = $1 WHERE rid = $2", [now, rid]);
  for (const rid of plan.cancel) await cancelRow(c, rid, now);
  return plan.outcome;
}

async function wakeParent(c: Db, rid: number): Promise<void> {
  await c.query("UPDATE runs SET wake_requested = 1 WHERE id = (SELECT parent_id FROM runs WHERE rid = $1)", [rid]);
}

async function cancelRow(c: Db, rid: number, now: number): Promise<void> {
  await c.query(
    `UPDATE runs SET status = 'cancelled', error = $1, finished_at = $2, updated_at = $2, lease_owner = NULL,
     lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1 WHERE rid = $3`,
    [CANCELLED_ERROR, now, rid],
  );
  await wakeParent(c, rid);
}

export async function terminate(c: Db, runId: string): Promise<TerminateOutcome> {
  const plan = planTerminate(runId, await lockedFamily(c, runId));
  const now = Date.now();
  for (const rid of plan.terminate) {
    await c.query(
      `UPDATE runs SET status = 'cancelled', error = $1, finished_at = $2, updated_at = $2, lease_owner = NULL,
       lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1, wake_at = NULL WHERE rid = $3`,
      [TERMINATED_ERROR, now, rid],
    );
    await c.query("UPDATE attempts SET ended_at = $1, outcome = 'terminated', error = $2 WHERE rid = $3 AND ended_at IS NULL", [
      now,
      TERMINATED_ERROR,
      rid,
    ]);
    await wakeParent(c, rid);
  }
  return plan.outcome;
}
