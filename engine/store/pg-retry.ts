import { pack } from "msgpackr";
import type { Db, Query } from "./pg-connection.js";
import { decodeRunConfig } from "./run-config.js";
import { RUN_COLUMNS, WAKE_CHANNEL } from "./pg-worker-session.js";
import { type CutLogRow, type RunRow, toCutLogs, toRecord } from "./rows.js";
import { type JournalRecordRow, type RetryRow, checkRetry, damagedJournal, retryRecords } from "./rules.js";
import type { CutLogs, RetryRecord, RunRecord, RunRetry } from "./types.js";

// `dwe retry` on PostgreSQL: the cut and the run's reset in one transaction on the run's locked
// row (a crash leaves the run as it was or as retried), and the retry history read back.

export async function retryRun(c: Db, runId: string, retry: RunRetry): Promise<RunRecord> {
  const row = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1 FOR UPDATE", [runId])).rows[0];
  const entries = row
    ? Number((await c.query<{ n: number }>("SELECT COUNT(*) AS n FROM journal WHERE rid = $1", [row.rid])).rows[0]!.n)
    : 0;
  checkRetry(runId, row?.status, entries, retry.from);
  const { rid } = row!;
  const now = Date.now();
  const number = (
    await c.query<{ number: number }>(
      `INSERT INTO retries (rid, number, at, from_seq, after_attempt, error)
         VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM retries WHERE rid = $1), $2, $3, $4, $5) RETURNING number`,
      [rid, now, retry.from, row!.attempts, row!.error],
    )
  ).rows[0]!.number;
  await c.query(
    `INSERT INTO journal_cut (rid, retry, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request,
       log_stream, log_level, log_message, log_at)
     SELECT j.rid, $2, j.seq, j.op, j.digest, j.state, j.payload, j.sum, j.started_at, j.ended_at, j.attempt, j.request,
       l.stream, l.level, l.message, l.at
     FROM journal j LEFT JOIN logs l ON l.rid = j.rid AND l.seq = j.seq WHERE j.rid = $1 AND j.seq >= $3`,
    [rid, number, retry.from],
  );
  await c.query("DELETE FROM journal WHERE rid = $1 AND seq >= $2", [rid, retry.from]);
  await c.query("DELETE FROM logs WHERE rid = $1 AND seq >= $2", [rid, retry.from]);
  await c.query("UPDATE signals SET consumed_seq = NULL WHERE rid = $1 AND consumed_seq >= $2", [rid, retry.from]);
  let config = row!.config;
  if (retry.grants !== undefined) {
    const { config: stored, problem } = decodeRunConfig(row!.config);
    // A damaged config is left as it is: the attempt fails the run with corrupt_run.
    if (problem === null) config = Buffer.from(pack({ ...stored, grants: retry.grants }));
  }
  const updated = await c.query<RunRow>(
    `UPDATE runs SET status = 'pending', output = NULL, error = NULL, finished_at = NULL, wake_at = NULL, wake_requested = 0,
       cancel_requested = 0, crashes = 0, lease_owner = NULL, lease_expires = NULL, config = $1, updated_at = $2 WHERE rid = $3
     RETURNING ${RUN_COLUMNS}`,
    [config, now, rid],
  );
  // Delivered at commit: idle workers claim it now, not at their next poll.
  await c.query(`SELECT pg_notify('${WAKE_CHANNEL}', '')`);
  return toRecord(updated.rows[0]!);
}

type CutRow = {
  retry: number;
  seq: number;
  op: number;
  digest: number;
  state: number;
  payload: Buffer;
  sum: number;
  started_at: number | null;
  ended_at: number | null;
  attempt: number | null;
  request: Buffer | null;
};

export async function listRetries(q: Query, location: string, rid: number): Promise<RetryRecord[]> {
  const retries = (
    await q<RetryRow>("SELECT number, at, from_seq, after_attempt, error FROM retries WHERE rid = $1 ORDER BY number", [rid])
  ).rows;
  if (retries.length === 0) return [];
  const cut = (
    await q<CutRow>(
      `SELECT retry, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request FROM journal_cut
         WHERE rid = $1 ORDER BY retry, seq`,
      [rid],
    )
  ).rows.map(
    (x) =>
      [x.retry, x.seq, x.op, x.digest, x.state, x.payload, x.sum, x.started_at, x.ended_at, x.attempt, x.request] as [
        number,
        ...JournalRecordRow,
      ],
  );
  const id = (await q<{ id: string }>("SELECT id FROM runs WHERE rid = $1", [rid])).rows[0]?.id ?? `#${rid}`;
  return retryRecords(retries, cut, (check) => damagedJournal(id, location, check));
}

export async function listCutLogs(q: Query, rid: number): Promise<CutLogs[]> {
  const retries = (
    await q<{ number: number; from_seq: number }>("SELECT number, from_seq FROM retries WHERE rid = $1 ORDER BY number", [rid])
  ).rows;
  if (retries.length === 0) return [];
  const rows = (
    await q<CutLogRow>(
      "SELECT retry, seq, log_stream, log_level, log_message, log_at FROM journal_cut WHERE rid = $1 AND log_message IS NOT NULL ORDER BY retry, seq",
      [rid],
    )
  ).rows;
  return toCutLogs(retries, rows);
}
