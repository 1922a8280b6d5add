import type Database from "better-sqlite3";
import { RunNotFound } from "../kernel/errors.js";
import { type RunRow, toRecord } from "./rows.js";
import { NEXT_RID } from "./sqlite-purge.js";
import { pack } from "msgpackr";
import type { NewRun, RunRecord } from "./types.js";

/**
 * Writing a journal row: a completion (the same seq as its intent) keeps the intent's start and
 * request when it brings none (an effect in flight finished by a later attempt).
 */
export const JOURNAL_INSERT = "INSERT INTO journal (rid, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request)";
export const JOURNAL_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
export const JOURNAL_COLUMNS = 11;
export const JOURNAL_UPSERT = `ON CONFLICT (rid, seq) DO UPDATE SET op = excluded.op, digest = excluded.digest, state = excluded.state,
  payload = excluded.payload, sum = excluded.sum, started_at = COALESCE(excluded.started_at, started_at), ended_at = excluded.ended_at,
  attempt = excluded.attempt, request = COALESCE(excluded.request, request)`;

/** The columns a claim reads of a run, and when it is due (`claimable` orders by it). */
const CLAIM_COLUMNS = "rid, id, status, wake_at, lease_token, cancel_requested, crashes, COALESCE(wake_at, created_at) AS due";

/**
 * What a claim may take, oldest due first: one index-ordered branch per way a run becomes claimable
 * (with the index SQLite must read it by, where its planner would pick another), each cut at the
 * limit, so a claim reads at most 4 × limit rows however many wait (indexes of migration 9). A
 * suspended run both due and asked to wake is in the branch of due runs only.
 */
const CLAIMABLE_BRANCHES: readonly [index: string | null, where: string][] = [
  ["runs_by_due", "status = 'pending'"],
  [null, "status = 'suspended' AND wake_at <= @now"],
  ["runs_wake_requested", "wake_requested = 1 AND status = 'suspended' AND NOT (wake_at IS NOT NULL AND wake_at <= @now)"],
  [null, "@takeover = 1 AND status = 'running' AND (lease_expires IS NULL OR lease_expires <= @now)"],
];
const CLAIMABLE = `SELECT rid, id, status, wake_at, lease_token, cancel_requested, crashes FROM (
  ${CLAIMABLE_BRANCHES.map(
    ([index, where]) =>
      `SELECT * FROM (SELECT ${CLAIM_COLUMNS} FROM runs${index === null ? "" : ` INDEXED BY ${index}`}
         WHERE ${where} ORDER BY COALESCE(wake_at, created_at), rid LIMIT @limit)`,
  ).join("\n  UNION ALL\n  ")}
) ORDER BY due, rid LIMIT @limit`;

/** The named parameters of `insertRun` for a new run. */
export function insertRunParams(run: NewRun): Record<string, unknown> {
  return {
    id: run.id,
    module: run.module,
    entry: run.entry,
    input: run.input,
    config: pack(run.config),
    status: run.status,
    now: Date.now(),
    parentId: run.parentId,
    name: run.name ?? null,
  };
}

/** The SQLite store's prepared statements, made once when the store opens. */
export function prepareStatements(db: Database.Database) {
  const statements = {
    putModule: db.prepare("INSERT OR IGNORE INTO modules (sha256, kind, size, bytes, created_at) VALUES (?, ?, ?, ?, ?)"),
    getModule: db.prepare("SELECT kind, bytes FROM modules WHERE sha256 = ?"),
    putArtifact: db.prepare("INSERT OR REPLACE INTO module_artifacts (sha256, kind, bytes, created_at) VALUES (?, ?, ?, ?)"),
    getArtifact: db.prepare("SELECT bytes FROM module_artifacts WHERE sha256 = ? AND kind = ?").pluck(),
    insertRun: db.prepare(
      `INSERT INTO runs (rid, id, module, name, entry, input, config, status, created_at, updated_at, parent_id)
         VALUES (${NEXT_RID}, @id, @module, COALESCE(@name, (SELECT name FROM runs WHERE id = @parentId)), @entry, @input, @config, @status,
           @now, @now, @parentId)`,
    ),
    getRun: db.prepare("SELECT * FROM runs WHERE id = ?"),
    leaseToken: db.prepare("SELECT lease_token FROM runs WHERE rid = ?").pluck(),
    takeLease: db.prepare(
      `UPDATE runs SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, updated_at = ? WHERE rid = ?`,
    ),
    renewLease: db.prepare("UPDATE runs SET lease_expires = ? WHERE rid = ? AND lease_token = ?"),
    setModule: db.prepare("UPDATE runs SET module = ?, updated_at = ? WHERE rid = ? AND lease_token = ?"),
    moduleAndToken: db.prepare("SELECT module, lease_token FROM runs WHERE rid = ?"),
    addUpgrade: db.prepare(
      `INSERT INTO upgrades (rid, number, at, from_module, to_module, attempt)
         VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM upgrades WHERE rid = ?), ?, ?, ?, ?)`,
    ),
    listUpgrades: db.prepare("SELECT number, at, from_module, to_module, attempt FROM upgrades WHERE rid = ? ORDER BY number"),
    finish: db.prepare(
      `UPDATE runs SET status = @status, output = @output, error = @error, wake_at = @wakeAt, finished_at = @finishedAt,
         lease_owner = NULL, lease_expires = NULL, attempts = attempts - @undo,
         crashes = CASE WHEN @crashed = 1 THEN crashes + 1 ELSE 0 END, updated_at = @now
         WHERE rid = @rid AND lease_token = @token AND lease_owner IS NOT NULL RETURNING parent_id`,
    ),
    putEntry: db.prepare(`${JOURNAL_INSERT} VALUES ${JOURNAL_ROW} ${JOURNAL_UPSERT}`),
    readJournalRecords: db
      .prepare(
        `SELECT seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request FROM journal
           WHERE rid = ? AND seq >= ? ORDER BY seq`,
      )
      .raw(),
    startAttempt: db
      .prepare(
        `INSERT INTO attempts (rid, number, owner, started_at)
           VALUES (@rid, (SELECT COALESCE(MAX(number), 0) + 1 FROM attempts WHERE rid = @rid), @owner, @now) RETURNING number`,
      )
      .pluck(),
    endAttempt: db.prepare("UPDATE attempts SET ended_at = ?, outcome = ?, error = ? WHERE rid = ? AND number = ?"),
    listAttempts: db.prepare("SELECT number, owner, started_at, ended_at, outcome, error FROM attempts WHERE rid = ? ORDER BY number"),
    putLog: db.prepare("INSERT OR REPLACE INTO logs (rid, seq, stream, level, message, at) VALUES (?, ?, ?, ?, ?, ?)"),
    readLogs: db.prepare("SELECT seq, stream, level, message, at FROM logs WHERE rid = ? ORDER BY seq"),
    wakeParent: db.prepare("UPDATE runs SET wake_requested = 1 WHERE id = (SELECT parent_id FROM runs WHERE rid = ?)"),
    wakeById: db.prepare("UPDATE runs SET wake_requested = 1 WHERE id = ?"),
    claimable: db.prepare(CLAIMABLE),
    /** Holders of unexpired leases (few: one per live process), to find dead ones on this host. */
    liveLeaseOwners: db.prepare("SELECT DISTINCT lease_owner FROM runs WHERE status = 'running' AND lease_expires > ?").pluck(),
    runsHeldBy: db.prepare(
      `SELECT rid, id, status, wake_at, lease_token, cancel_requested, crashes FROM runs
         WHERE status = 'running' AND lease_owner = ? AND lease_expires > ? ORDER BY rid LIMIT ?`,
    ),
    claim: db.prepare(
      `UPDATE runs SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, wake_requested = 0, updated_at = ? WHERE rid = ? RETURNING *`,
    ),
    cancelNow: db.prepare(
      `UPDATE runs SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ?, lease_owner = NULL,
         lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1 WHERE rid = ?`,
    ),
    terminateNow: db.prepare(
      `UPDATE runs SET status = 'cancelled', error = @error, finished_at = @now, updated_at = @now, lease_owner = NULL,
         lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1, wake_at = NULL WHERE rid = @rid`,
    ),
    endOpenAttempt: db.prepare(
      "UPDATE attempts SET ended_at = @now, outcome = 'terminated', error = @error WHERE rid = @rid AND ended_at IS NULL",
    ),
    askCancel: db.prepare("UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE rid = ?"),
    cancelFlag: db.prepare("SELECT cancel_requested FROM runs WHERE rid = ? AND lease_token = ?").pluck(),
    family: db.prepare(
      `WITH RECURSIVE fam(id) AS (SELECT ? UNION SELECT r.id FROM runs r JOIN fam ON r.parent_id = fam.id)
         SELECT * FROM runs WHERE id IN (SELECT id FROM fam)`,
    ),
    insertSignal: db.prepare("INSERT INTO signals (rid, name, data, sent_at) VALUES (?, ?, ?, ?)"),
    wake: db.prepare("UPDATE runs SET wake_requested = 1 WHERE rid = ?"),
    signalBySeq: db.prepare("SELECT * FROM signals WHERE rid = ? AND consumed_seq = ?"),
    nextSignal: db.prepare("SELECT * FROM signals WHERE rid = ? AND name = ? AND consumed_seq IS NULL ORDER BY id LIMIT 1"),
    consumeSignal: db.prepare("UPDATE signals SET consumed_seq = ? WHERE id = ?"),
    listSignals: db.prepare("SELECT * FROM signals WHERE rid = ? ORDER BY id"),
    insertSchedule: db.prepare(
      `INSERT INTO schedules (name, cron, tz, module, entry, input, config, next_tick, created_at)
         VALUES (@name, @cron, @tz, @module, @entry, @input, @config, @nextTick, @now)`,
    ),
    listSchedules: db.prepare("SELECT * FROM schedules ORDER BY name"),
    removeSchedule: db.prepare("DELETE FROM schedules WHERE name = ?"),
    advanceSchedule: db.prepare("UPDATE schedules SET next_tick = ?, last_tick = ? WHERE name = ? AND next_tick = ? AND paused = 0"),
    countRuns: db.prepare("SELECT status, COUNT(*) AS n FROM runs GROUP BY status"),
    summary: db.prepare(
      "SELECT op, COUNT(*) AS n, SUM(state = 0) AS intents, SUM(length(payload) + COALESCE(length(request), 0)) AS bytes FROM journal WHERE rid = ? GROUP BY op",
    ),
  };
  // Named by a type declarations can spell (BetterSqlite3.Statement, which prepare returns, cannot be).
  return statements as Record<keyof typeof statements, Database.Statement>;
}

export type Statements = ReturnType<typeof prepareStatements>;

/** The run with id `id`, or RunNotFound. */
export function mustGet(stmt: Statements, id: string): RunRecord {
  const row = stmt.getRun.get(id) as RunRow | undefined;
  if (!row) throw new RunNotFound(id);
  return toRecord(row);
}
