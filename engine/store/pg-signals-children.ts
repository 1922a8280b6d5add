import { LeaseLost, RunNotFound } from "../kernel/errors.js";
import { WAKE_CHANNEL } from "./pg-worker-session.js";
import { type Db, buf } from "./pg-connection.js";
import { insertRun } from "./pg-runs.js";
import { type RunRow, type SignalRow, toRecord, toSignal } from "./rows.js";
import { checkExistingChild, checkSignalable } from "./rules.js";
import { TREE_SQL, type TreeCounts, checkChildLimits } from "./child-limits.js";
import type { Lease, NewRun, RunRecord, RunStatus, SignalRecord } from "./types.js";

// Signals sent to runs and taken by them, and child runs created under a parent's lease (transaction bodies).

export async function sendSignal(c: Db, runId: string, name: string, data: Uint8Array): Promise<number> {
  const row = (await c.query<{ rid: number; status: RunStatus }>("SELECT rid, status FROM runs WHERE id = $1 FOR UPDATE", [runId])).rows[0];
  if (!row) throw new RunNotFound(runId);
  checkSignalable(runId, row.status);
  const id = (
    await c.query<{ id: number }>("INSERT INTO signals (rid, name, data, sent_at) VALUES ($1, $2, $3, $4) RETURNING id", [
      row.rid,
      name,
      buf(data),
      Date.now(),
    ])
  ).rows[0]!.id;
  // The notification (delivered at commit) wakes idle workers to claim the run now.
  await c.query(`UPDATE runs SET wake_requested = 1 WHERE rid = $1 RETURNING pg_notify('${WAKE_CHANNEL}', '')`, [row.rid]);
  return id;
}

export async function takeSignal(c: Db, lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined> {
  await fence(c, lease);
  const done = (await c.query<SignalRow>("SELECT * FROM signals WHERE rid = $1 AND consumed_seq = $2", [lease.rid, seq])).rows[0];
  if (done) return toSignal(done);
  const next = (
    await c.query<SignalRow>("SELECT * FROM signals WHERE rid = $1 AND name = $2 AND consumed_seq IS NULL ORDER BY id LIMIT 1", [
      lease.rid,
      name,
    ])
  ).rows[0];
  if (!next) return undefined;
  await c.query("UPDATE signals SET consumed_seq = $1 WHERE id = $2", [seq, next.id]);
  return { ...toSignal(next), consumedSeq: seq };
}

export async function createChild(c: Db, lease: Lease, child: NewRun): Promise<RunRecord> {
  await fence(c, lease);
  const existing = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1", [child.id])).rows[0];
  if (existing) {
    checkExistingChild(child.id, existing.parent_id, lease.runId);
    return toRecord(existing);
  }
  checkChildLimits(lease.runId, await treeCounts(c, lease.runId), child.config.childLimits);
  return insertRun(c, child);
}

/**
 * Counted in createChild's transaction under the parent's row lock: one run's children are exact;
 * runs of one tree starting children at the same moment may pass the descendants limit by as many
 * as start at once (the root is not locked: cancellation locks a family root first).
 */
async function treeCounts(c: Db, parent: string): Promise<TreeCounts> {
  const up = (await c.query<{ id: string; depth: number }>(TREE_SQL.up, [parent])).rows[0]!;
  const n = async (sql: string, id: string) => Number((await c.query<{ n: string }>(sql, [id])).rows[0]!.n);
  return { parentDepth: Number(up.depth), children: await n(TREE_SQL.children, parent), descendants: await n(TREE_SQL.descendants, up.id) };
}

/** Locks the run's row and checks the lease's fencing token (same transaction as the write). */
async function fence(c: Db, lease: Lease): Promise<void> {
  const r = await c.query<{ lease_token: number }>("SELECT lease_token FROM runs WHERE rid = $1 FOR UPDATE", [lease.rid]);
  if (r.rows[0]?.lease_token !== lease.token) throw new LeaseLost(lease.runId);
}
