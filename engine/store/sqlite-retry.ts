import type Database from "better-sqlite3";
import { pack } from "msgpackr";
import { decodeRunConfig } from "./run-config.js";
import { type JournalRecordRow, type RetryRow, checkRetry, damagedJournal, retryRecords } from "./rules.js";
import { type CutLogRow, type RunRow, toCutLogs } from "./rows.js";
import { type Statements, mustGet } from "./sqlite-statements.js";
import type { CutLogs, RetryRecord, RunRecord, RunRetry } from "./types.js";

// `dwe retry` on SQLite: the cut and the run's reset in one write transaction (a crash leaves the
// run as it was or as retried), and the retry history read back.

export function retryRun(db: Database.Database, stmt: Statements, runId: string, retry: RunRetry): RunRecord {
  const tx = db.transaction((): RunRecord => {
    const row = stmt.getRun.get(runId) as RunRow | undefined;
    const entries = row ? (db.prepare("SELECT COUNT(*) FROM journal WHERE rid = ?").pluck().get(row.rid) as number) : 0;
    checkRetry(runId, row?.status, entries, retry.from);
    const rid = row!.rid;
    const now = Date.now();
    const number = (db.prepare("SELECT COALESCE(MAX(number), 0) + 1 FROM retries WHERE rid = ?").pluck().get(rid) as number) ?? 1;
    db.prepare("INSERT INTO retries (rid, number, at, from_seq, after_attempt, error) VALUES (?, ?, ?, ?, ?, ?)").run(
      rid,
      number,
      now,
      retry.from,
      row!.attempts,
      row!.error,
    );
    db.prepare(
      `INSERT INTO journal_cut (rid, retry, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request,
         log_stream, log_level, log_message, log_at)
       SELECT j.rid, ?, j.seq, j.op, j.digest, j.state, j.payload, j.sum, j.started_at, j.ended_at, j.attempt, j.request,
         l.stream, l.level, l.message, l.at
       FROM journal j LEFT JOIN logs l ON l.rid = j.rid AND l.seq = j.seq WHERE j.rid = ? AND j.seq >= ?`,
    ).run(number, rid, retry.from);
    db.prepare("DELETE FROM journal WHERE rid = ? AND seq >= ?").run(rid, retry.from);
    db.prepare("DELETE FROM logs WHERE rid = ? AND seq >= ?").run(rid, retry.from);
    db.prepare("UPDATE signals SET consumed_seq = NULL WHERE rid = ? AND consumed_seq >= ?").run(rid, retry.from);
    let config = row!.config;
    if (retry.grants !== undefined) {
      const { config: stored, problem } = decodeRunConfig(row!.config);
      // A damaged config is left as it is: the attempt fails the run with corrupt_run.
      if (problem === null) config = Buffer.from(pack({ ...stored, grants: retry.grants }));
    }
    db.prepare(
      `UPDATE runs SET status = 'pending', output = NULL, error = NULL, finished_at = NULL, wake_at = NULL, wake_requested = 0,
         cancel_requested = 0, crashes = 0, lease_owner = NULL, lease_expires = NULL, config = ?, updated_at = ? WHERE rid = ?`,
    ).run(config, now, rid);
    return mustGet(stmt, runId);
  });
  return tx.immediate();
}

export function listRetries(db: Database.Database, location: string, rid: number): RetryRecord[] {
  const retries = db
    .prepare("SELECT number, at, from_seq, after_attempt, error FROM retries WHERE rid = ? ORDER BY number")
    .all(rid) as RetryRow[];
  if (retries.length === 0) return [];
  const cut = db
    .prepare(
      `SELECT retry, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request FROM journal_cut
         WHERE rid = ? ORDER BY retry, seq`,
    )
    .raw()
    .all(rid) as [number, ...JournalRecordRow][];
  const id = (db.prepare("SELECT id FROM runs WHERE rid = ?").pluck().get(rid) as string | undefined) ?? `#${rid}`;
  return retryRecords(retries, cut, (check) => damagedJournal(id, location, check));
}

export function listCutLogs(db: Database.Database, rid: number): CutLogs[] {
  const retries = db.prepare("SELECT number, from_seq FROM retries WHERE rid = ? ORDER BY number").all(rid) as {
    number: number;
    from_seq: number;
  }[];
  if (retries.length === 0) return [];
  const rows = db
    .prepare(
      "SELECT retry, seq, log_stream, log_level, log_message, log_at FROM journal_cut WHERE rid = ? AND log_message IS NOT NULL ORDER BY retry, seq",
    )
    .all(rid) as CutLogRow[];
  return toCutLogs(retries, rows);
}
