import type Database from "better-sqlite3";
import { FINAL_STATUSES, checkDeletion } from "./purge-rules.js";
import type { RunDeletion } from "./types.js";

/**
 * The rid of a new run: above every rid the table holds and every rid ever deleted. SQLite would
 * otherwise reuse the rid of a deleted newest run, and a stale attempt of the deleted run (its lease
 * `{rid, token}`) could then pass the new run's fencing check (`WHERE rid = ? AND lease_token = ?`).
 */
export const NEXT_RID = `(SELECT MAX(
    (SELECT COALESCE(MAX(rid), 0) FROM runs),
    (SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM dwe_meta WHERE key = 'deleted_rid_high'), 0))) + 1)`;

// deleteRuns on SQLite: select and delete in one write transaction, so a run cannot change status
// between the two (a final run never does, but its parent may be resumed meanwhile).

const FINAL_SQL = FINAL_STATUSES.map((s) => `'${s}'`).join(", ");

export function deleteRuns(db: Database.Database, which: RunDeletion): string[] {
  const w = checkDeletion(which);
  const where: string[] = [`r.status IN (${w.statuses.map(() => "?").join(", ")})`];
  const params: (string | number)[] = [...w.statuses];
  if (w.finishedBefore !== undefined) {
    where.push("r.finished_at IS NOT NULL AND r.finished_at < ?");
    params.push(w.finishedBefore);
  }
  if (w.ids !== undefined) {
    if (w.ids.length === 0) return [];
    where.push(`r.id IN (${w.ids.map(() => "?").join(", ")})`);
    params.push(...w.ids);
  }
  // A child whose parent is not final stays: the parent may still read its result.
  where.push(`NOT EXISTS (SELECT 1 FROM runs p WHERE p.id = r.parent_id AND p.status NOT IN (${FINAL_SQL}))`);
  const select = db.prepare(`SELECT r.rid, r.id FROM runs r WHERE ${where.join(" AND ")} ORDER BY r.finished_at, r.rid LIMIT ?`);
  const tx = db.transaction((): string[] => {
    const rows = select.all(...params, w.limit) as { rid: number; id: string }[];
    if (w.dryRun === true || rows.length === 0) return rows.map((r) => r.id);
    const del = ["journal", "logs", "signals", "attempts", "retries", "journal_cut", "upgrades", "runs"].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE rid = ?`),
    );
    for (const r of rows) for (const d of del) d.run(r.rid);
    db.prepare(
      `INSERT INTO dwe_meta (key, value) VALUES ('deleted_rid_high', ?)
         ON CONFLICT (key) DO UPDATE SET value = CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)`,
    ).run(String(Math.max(...rows.map((r) => r.rid))));
    return rows.map((r) => r.id);
  });
  return tx.immediate();
}
