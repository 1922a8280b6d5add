import { pack } from "msgpackr";
import { LeaseLost } from "../kernel/errors.js";
import type { Grants } from "../kernel/grants.js";
import { type Db, type Query, buf } from "./pg-connection.js";
import { decodeRunConfig } from "./run-config.js";
import { RUN_COLUMNS, WAKE_CHANNEL } from "./pg-worker-session.js";
import { type RunRow, toRecord } from "./rows.js";
import { runListQuery } from "./run-query.js";
import type { Lease, NewRun, RunFilter, RunRecord } from "./types.js";

// Runs' rows: inserting one, listing them, and the fenced updates of a run's module and grants.

export const INSERT_RUN = `INSERT INTO runs (id, module, entry, input, config, status, created_at, updated_at, parent_id, name)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, COALESCE($9, (SELECT name FROM runs WHERE id = $8))) RETURNING *`;

export function insertRunParams(run: NewRun, now: number): unknown[] {
  return [run.id, run.module, run.entry, buf(run.input), pack(run.config), run.status, now, run.parentId, run.name ?? null];
}

export async function insertRun(c: Db, run: NewRun): Promise<RunRecord> {
  const row = (await c.query<RunRow>(INSERT_RUN, insertRunParams(run, Date.now()))).rows[0]!;
  // Delivered at commit: idle workers claim it now, not at their next poll.
  if (run.status === "pending") await c.query(`SELECT pg_notify('${WAKE_CHANNEL}', '')`);
  return toRecord(row);
}

export async function listRuns(q: Query, filter: RunFilter): Promise<RunRecord[]> {
  const { sql, params } = runListQuery(filter, (n) => `$${n}`, RUN_COLUMNS);
  return (await q<RunRow>(sql, params)).rows.map(toRecord);
}

/** The module replaced under the run's row lock, and the change recorded (upgrades). */
export async function setRunModule(c: Db, lease: Lease, sha256: string): Promise<void> {
  const row = (
    await c.query<{ module: string; lease_token: number }>("SELECT module, lease_token FROM runs WHERE rid = $1 FOR UPDATE", [lease.rid])
  ).rows[0];
  if (!row || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
  if (row.module === sha256) return;
  const now = Date.now();
  await c.query("UPDATE runs SET module = $1, updated_at = $2 WHERE rid = $3", [sha256, now, lease.rid]);
  await c.query(
    `INSERT INTO upgrades (rid, number, at, from_module, to_module, attempt)
       VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM upgrades WHERE rid = $1), $2, $3, $4, $5)`,
    [lease.rid, now, row.module, sha256, lease.attempt],
  );
}

export async function setRunGrants(c: Db, lease: Lease, grants: Grants): Promise<void> {
  const row = (
    await c.query<{ config: Buffer; lease_token: number }>("SELECT config, lease_token FROM runs WHERE rid = $1 FOR UPDATE", [lease.rid])
  ).rows[0];
  if (!row || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
  const { config: stored, problem } = decodeRunConfig(row.config);
  if (problem !== null) return; // left as it is: the attempt fails the run with corrupt_run
  const config = { ...stored, grants };
  await c.query("UPDATE runs SET config = $1, updated_at = $2 WHERE rid = $3", [pack(config), Date.now(), lease.rid]);
}
