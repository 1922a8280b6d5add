import type pg from "pg";
import { StoreError } from "../kernel/errors.js";
import { countsOf, runExists } from "./rules.js";
import type { JournalEntry, JournalRecord, LogRecord } from "../journal/entry.js";
import type { Grants } from "../kernel/grants.js";
import {
  type AttemptRow,
  type RunRow,
  type ScheduleRow,
  type SignalRow,
  type UpgradeRow,
  toAttempt,
  toRecord,
  toSchedule,
  toSignal,
  toUpgrade,
} from "./rows.js";
import { migratePg } from "./pg-schema.js";
import { pgLocation, type PgTarget } from "./pg-url.js";
import {
  type Db,
  type Query,
  RECONNECT_TRIES,
  RETRY,
  TYPES,
  UNIQUE,
  backoff,
  buf,
  isConnectionError,
  pgLib,
  poolSizeFromEnv,
  wrap,
} from "./pg-connection.js";
import { insertRun, listRuns, setRunGrants, setRunModule } from "./pg-runs.js";
import { readJournal, readJournalRecords, summarizeJournal } from "./pg-journal.js";
import { CommitGroup } from "./commit-group.js";
import { flushGroup } from "./pg-commit-group.js";
import { acquireLease, claimRuns, renewLease, renewLeases, requestCancel, terminate } from "./pg-claims.js";
import { createChild, sendSignal, takeSignal } from "./pg-signals-children.js";
import { addSchedule, fireSchedule, updateSchedule } from "./pg-schedules.js";
import { exportRun, importRun } from "./pg-export.js";
import { deleteRuns } from "./pg-purge.js";
import { listCutLogs, listRetries, retryRun } from "./pg-retry.js";
import { PgWorkerSession, RUN_COLUMNS } from "./pg-worker-session.js";
import type {
  AttemptRecord,
  CutLogs,
  UpgradeRecord,
  CancelOutcome,
  TerminateOutcome,
  ClaimedRun,
  WorkerEvents,
  WorkerSession,
  JournalSummary,
  Lease,
  LeaseCheck,
  ModuleKind,
  NewRun,
  RunEnd,
  RunExport,
  RunDeletion,
  RunFilter,
  RunRecord,
  RunRetry,
  RetryRecord,
  RunStatus,
  NewSchedule,
  ScheduleChange,
  ScheduleRecord,
  SignalRecord,
  Store,
} from "./types.js";

type Durability = "process" | "fsync";

/**
 * The shared store: one PostgreSQL database (or schema) for any number of `dwe` processes on any
 * number of hosts. Every write that needs a lease checks its fencing token inside the same
 * transaction, on the run's row (`SELECT … FOR UPDATE`, or a conditional UPDATE).
 *
 * Opening is lazy: the constructor does no I/O, the first call connects and migrates.
 */
export class PgStore implements Store {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly target: PgTarget;
  private readonly durability: Durability;
  /** Connection options (synchronous_commit, search_path), for connections outside the pool. */
  private readonly options: string;
  private ready: Promise<void> | null = null;
  private closed = false;
  /** q, bound: how the pg-*.ts modules run a statement outside a transaction. */
  private readonly query: Query = this.q.bind(this);
  /**
   * appendJournal and finishRun: the writes of all runs on this store that are ready together (in
   * one turn of the event loop, or while the previous group is written) go in a few statements
   * (commit-group.ts, pg-commit-group.ts).
   */
  private readonly group = new CommitGroup((writes) => flushGroup(this.query, writes));

  constructor(target: PgTarget, opts: { durability?: Durability; create?: boolean; poolSize?: number } = {}) {
    this.target = target;
    this.location = pgLocation(target);
    this.durability = opts.durability ?? "process";
    // process: commits are acknowledged before PostgreSQL flushes its WAL (a dwe crash never loses
    // one; a PostgreSQL crash may lose the last fraction of a second of journal writes). Lease and
    // run-creating transactions are always flushed (SET LOCAL synchronous_commit = on), so fencing
    // tokens never go backwards. fsync: every commit is flushed.
    const sync = this.durability === "fsync" ? "on" : "off";
    const options = [`-c synchronous_commit=${sync}`];
    if (target.schema !== null) options.push(`-c search_path=${target.schema.replace(/[^A-Za-z0-9_]/g, "")}`);
    this.options = options.join(" ");
    this.pool = new (pgLib().Pool)({
      connectionString: target.url,
      max: opts.poolSize ?? poolSizeFromEnv(),
      options: this.options,
      types: TYPES,
      application_name: "dwe",
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
    const create = opts.create ?? true;
    this.ready = this.open(create);
    this.ready.catch(() => undefined);
  }

  private async open(create: boolean): Promise<void> {
    const c = await this.connect();
    try {
      await migratePg(c, this.location, this.target.schema, create);
    } finally {
      c.release();
    }
  }

  private async connect(): Promise<Db> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw new StoreError(
        `cannot connect to PostgreSQL at ${this.location}: ${(err as Error).message}; check that the server is running and reachable, and the --db URL (or DWE_DB)`,
        { cause: err },
      );
    }
  }

  private async db(): Promise<void> {
    if (this.closed) throw new StoreError(`the store ${this.location} is closed`);
    await this.ready;
  }

  /**
   * One statement outside a transaction. `retry`: the statement may simply run again after a lost
   * connection (a read, or a write that has the same effect twice); default: SELECTs only.
   */
  private async q<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    retry = /^\s*SELECT/i.test(sql),
  ): Promise<pg.QueryResult<R>> {
    await this.db();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(sql, params);
      } catch (err) {
        if (retry && isConnectionError(err) && attempt < RECONNECT_TRIES) {
          await backoff(attempt);
          continue;
        }
        throw wrap(err, this.location);
      }
    }
  }

  /**
   * Runs `fn` in a transaction; retried on deadlock or serialization failure, and on a lost
   * connection before COMMIT was sent (nothing was committed). A connection lost during COMMIT is
   * reported, never retried: the outcome is unknown. `durable`: the commit is flushed whatever the
   * durability mode (leases, run creation).
   */
  private async tx<T>(fn: (c: Db) => Promise<T>, durable = false): Promise<T> {
    await this.db();
    for (let attempt = 1; ; attempt++) {
      let c: Db;
      try {
        c = await this.connect();
      } catch (err) {
        if (isConnectionError(err) && attempt < RECONNECT_TRIES) {
          await backoff(attempt);
          continue;
        }
        throw err;
      }
      let broken = false;
      let committing = false;
      try {
        await c.query("BEGIN");
        if (durable && this.durability !== "fsync") await c.query("SET LOCAL synchronous_commit = on");
        const out = await fn(c);
        committing = true;
        await c.query("COMMIT");
        return out;
      } catch (err) {
        try {
          await c.query("ROLLBACK");
        } catch {
          broken = true;
        }
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRY.has(code) && attempt < 5) continue;
        if (!committing && isConnectionError(err) && attempt < RECONNECT_TRIES) {
          await backoff(attempt);
          continue;
        }
        throw wrap(err, this.location);
      } finally {
        c.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.group.idle();
    this.closed = true;
    await this.ready?.catch(() => undefined);
    await this.pool.end();
  }

  // ---- modules ----

  async putModule(sha256: string, kind: ModuleKind, bytes: Uint8Array): Promise<void> {
    await this.q(
      "INSERT INTO modules (sha256, kind, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
      [sha256, kind, bytes.length, buf(bytes), Date.now()],
      true,
    );
  }

  async getModule(sha256: string): Promise<{ kind: ModuleKind; bytes: Uint8Array } | undefined> {
    const r = await this.q<{ kind: ModuleKind; bytes: Buffer }>("SELECT kind, bytes FROM modules WHERE sha256 = $1", [sha256]);
    const row = r.rows[0];
    return row && { kind: row.kind, bytes: new Uint8Array(row.bytes) };
  }

  async putArtifact(sha256: string, kind: string, bytes: Uint8Array): Promise<void> {
    await this.q(
      `INSERT INTO module_artifacts (sha256, kind, bytes, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256, kind) DO UPDATE SET bytes = EXCLUDED.bytes, created_at = EXCLUDED.created_at`,
      [sha256, kind, buf(bytes), Date.now()],
      true,
    );
  }

  async getArtifact(sha256: string, kind: string): Promise<Uint8Array | undefined> {
    const r = await this.q<{ bytes: Buffer }>("SELECT bytes FROM module_artifacts WHERE sha256 = $1 AND kind = $2", [sha256, kind]);
    const row = r.rows[0];
    return row && new Uint8Array(row.bytes);
  }

  // ---- runs ----

  async createRun(run: NewRun): Promise<RunRecord> {
    return this.inserting(run, () => this.tx((c) => insertRun(c, run), true));
  }

  async createLeasedRun(run: NewRun, owner: string, ttlMs: number): Promise<Lease> {
    return this.inserting(run, () =>
      this.tx(async (c) => {
        await insertRun(c, run);
        return acquireLease(c, run.id, owner, ttlMs, false);
      }, true),
    );
  }

  /** A write that inserts `run`: a taken id is RunExists. */
  private async inserting<T>(run: NewRun, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE || (err as { cause?: { code?: string } }).cause?.code === UNIQUE) {
        throw runExists(run.id);
      }
      throw err;
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = (await this.q<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id])).rows[0];
    return row && toRecord(row);
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    return listRuns(this.query, filter);
  }

  async countRuns(): Promise<Partial<Record<RunStatus, number>>> {
    return countsOf(
      (await this.q<{ status: RunStatus; n: number }>("SELECT status, COUNT(*)::int AS n FROM runs GROUP BY status", [])).rows,
    );
  }

  async setRunModule(lease: Lease, sha256: string): Promise<void> {
    await this.tx((c) => setRunModule(c, lease, sha256));
  }

  async listUpgrades(rid: number): Promise<UpgradeRecord[]> {
    return (
      await this.q<UpgradeRow>("SELECT number, at, from_module, to_module, attempt FROM upgrades WHERE rid = $1 ORDER BY number", [rid])
    ).rows.map(toUpgrade);
  }

  async setRunGrants(lease: Lease, grants: Grants): Promise<void> {
    await this.tx((c) => setRunGrants(c, lease, grants));
  }

  // ---- leases (pg-claims.ts) ----

  async acquireLease(runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease> {
    return this.tx((c) => acquireLease(c, runId, owner, ttlMs, steal), true);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    return renewLease(this.query, lease, ttlMs);
  }

  async finishRun(lease: Lease, end: RunEnd): Promise<void> {
    return this.group.submit({ kind: "finish", lease, end });
  }

  // ---- journal (pg-journal.ts) ----

  async readJournal(rid: number): Promise<JournalEntry[]> {
    return readJournal(this.query, this.location, rid);
  }

  async appendJournal(lease: Lease, entries: readonly JournalEntry[], logs: readonly LogRecord[]): Promise<void> {
    if (entries.length === 0 && logs.length === 0) return;
    return this.group.submit({ kind: "append", lease, entries, logs });
  }

  async summarizeJournal(rid: number): Promise<JournalSummary> {
    return summarizeJournal(this.query, rid);
  }

  async readLogs(rid: number): Promise<LogRecord[]> {
    return (await this.q<LogRecord>("SELECT seq, stream, level, message, at FROM logs WHERE rid = $1 ORDER BY seq", [rid])).rows;
  }

  async readJournalRecords(rid: number, from: number): Promise<JournalRecord[]> {
    return readJournalRecords(this.query, this.location, rid, from);
  }

  async listAttempts(rid: number): Promise<AttemptRecord[]> {
    return (
      await this.q<AttemptRow>("SELECT number, owner, started_at, ended_at, outcome, error FROM attempts WHERE rid = $1 ORDER BY number", [
        rid,
      ])
    ).rows.map(toAttempt);
  }

  async retryRun(runId: string, retry: RunRetry): Promise<RunRecord> {
    return this.tx((c) => retryRun(c, runId, retry), true);
  }

  async listRetries(rid: number): Promise<RetryRecord[]> {
    return listRetries(this.query, this.location, rid);
  }

  async listCutLogs(rid: number): Promise<CutLogs[]> {
    return listCutLogs(this.query, rid);
  }

  // ---- workers (pg-claims.ts) ----

  async openWorkerSession(owner: string, events: WorkerEvents): Promise<WorkerSession> {
    await this.db();
    return PgWorkerSession.open({ url: this.target.url, options: this.options }, owner, events);
  }

  async claimRuns(owner: string, limit: number, ttlMs: number, now: number, takeOver = true): Promise<ClaimedRun[]> {
    if (limit <= 0) return [];
    return this.tx((c) => claimRuns(c, owner, limit, ttlMs, now, takeOver), true);
  }

  async renewLeases(leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]> {
    return renewLeases(this.query, leases, ttlMs);
  }

  async requestCancel(runId: string): Promise<CancelOutcome> {
    return this.tx((c) => requestCancel(c, runId), true);
  }

  async terminate(runId: string): Promise<TerminateOutcome> {
    return this.tx((c) => terminate(c, runId), true);
  }

  async deleteRuns(which: RunDeletion): Promise<string[]> {
    return this.tx((c) => deleteRuns(c, which));
  }

  // ---- signals and children (pg-signals-children.ts) ----

  async sendSignal(runId: string, name: string, data: Uint8Array): Promise<number> {
    return this.tx((c) => sendSignal(c, runId, name, data), true);
  }

  async takeSignal(lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined> {
    return this.tx((c) => takeSignal(c, lease, name, seq));
  }

  async listSignals(rid: number): Promise<SignalRecord[]> {
    return (await this.q<SignalRow>("SELECT * FROM signals WHERE rid = $1 ORDER BY id", [rid])).rows.map(toSignal);
  }

  async createChild(lease: Lease, child: NewRun): Promise<RunRecord> {
    return this.tx((c) => createChild(c, lease, child), true);
  }

  // ---- schedules (pg-schedules.ts) ----

  async addSchedule(sc: NewSchedule): Promise<void> {
    return addSchedule(this.query, sc);
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.q<ScheduleRow>("SELECT * FROM schedules ORDER BY name")).rows.map(toSchedule);
  }

  async removeSchedule(name: string): Promise<boolean> {
    return (await this.q("DELETE FROM schedules WHERE name = $1", [name])).rowCount === 1;
  }

  async updateSchedule(name: string, change: ScheduleChange): Promise<boolean> {
    return updateSchedule(this.query, name, change);
  }

  async fireSchedule(name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean> {
    return this.tx((c) => fireSchedule(c, name, tick, nextTick, run), true);
  }

  // ---- export / import (pg-export.ts; docs/distributed.md) ----

  async exportRun(runId: string): Promise<RunExport> {
    return this.tx((c) => exportRun(c, this.location, runId));
  }

  async importRun(bundle: RunExport): Promise<RunRecord> {
    return this.tx((c) => importRun(c, this.location, bundle), true);
  }
}
