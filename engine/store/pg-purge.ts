import type { Db } from "./pg-connection.js";
import { FINAL_STATUSES, checkDeletion } from "./purge-rules.js";
import type { RunDeletion } from "./types.js";

// deleteRuns on PostgreSQL: one statement, the selected rows locked (rows another transaction holds
// are skipped, taken by a later call), then their journal, logs, signals, attempts, retries (with their cut entries), upgrades and row deleted. rid is a
// BIGSERIAL: never reused, so a stale attempt of a deleted run cannot match a newer run's fence.

const FINAL_SQL = FINAL_STATUSES.map((s) => `'${s}'`).join(", ");

export async function deleteRuns(c: Db, which: RunDeletion): Promise<string[]> {
  const w = checkDeletion(which);
  const params: unknown[] = [w.statuses, w.limit];
  const where = ["r.status = ANY($1::text[])"];
  if (w.finishedBefore !== undefined) {
    params.push(w.finishedBefore);
    where.push(`r.finished_at IS NOT NULL AND r.finished_at < $${params.length}`);
  }
  if (w.ids !== undefined) {
    if (w.ids.length === 0) return [];
    params.push(w.ids);
    where.push(`r.id = ANY($${params.length}::text[])`);
  }
  // A child whose parent is not final stays: the parent may still read its result.
  where.push(`NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = r.parent_id AND p.status NOT IN (${FINAL_SQL}))`);
  const select = `SELECT r.rid, r.id, r.finished_at FROM runs r WHERE ${where.join(" AND ")}
    ORDER BY r.finished_at, r.rid LIMIT $2 FOR UPDATE OF r SKIP LOCKED`;
  if (w.dryRun === true)
    return (await c.query<{ id: string }>(select.replace(" FOR UPDATE OF r SKIP LOCKED", ""), params)).rows.map((r) => r.id);
  const r = await c.query<{ id: string }>(
    `WITH sel AS (${select}),
       j AS (DELETE FROM journal WHERE rid IN (SELECT rid FROM sel)),
       l AS (DELETE FROM logs WHERE rid IN (SELECT rid FROM sel)),
       s AS (DELETE FROM signals WHERE rid IN (SELECT rid FROM sel)),
       a AS (DELETE FROM attempts WHERE rid IN (SELECT rid FROM sel)),
       t AS (DELETE FROM retries WHERE rid IN (SELECT rid FROM sel)),
       k AS (DELETE FROM journal_cut WHERE rid IN (SELECT rid FROM sel)),
       u AS (DELETE FROM upgrades WHERE rid IN (SELECT rid FROM sel)),
       d AS (DELETE FROM runs WHERE rid IN (SELECT rid FROM sel))
     SELECT id FROM sel ORDER BY finished_at, rid`,
    params,
  );
  return r.rows.map((x) => x.id);
}
