import { decodeRunConfig } from "./run-config.js";
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
import Database from "better-sqlite3";
import { sqliteAddonPath } from "./sqlite-addon.js";
import { mkdirSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { pack } from "msgpackr";
import { DweError, LeaseLost, StoreError } from "../kernel/errors.js";
import { countsOf, runExists } from "./rules.js";
import { sqliteStoreError } from "./sqlite-errors.js";
import type { JournalEntry, JournalRecord, LogRecord } from "../journal/entry.js";
import { migrate } from "./sqlite-schema.js";
import type { Grants } from "../kernel/grants.js";
import { type Statements, insertRunParams, mustGet, prepareStatements } from "./sqlite-statements.js";
import { readJournal, readJournalRecords, summarizeJournal, wideInserts } from "./sqlite-journal.js";
import { acquireLease, claimRuns, renewLeases, requestCancel, terminate } from "./sqlite-claims.js";
import { CommitGroup } from "./commit-group.js";
import { journalReadStatements, type JournalReadStatements } from "./sqlite-journal-read.js";
import { groupTransaction } from "./sqlite-commit-group.js";
import { createChild, sendSignal, takeSignal } from "./sqlite-signals-children.js";
import { addSchedule, fireSchedule, updateSchedule } from "./sqlite-schedules.js";
import { exportRun, importRun } from "./sqlite-export.js";
import { runListQuery } from "./run-query.js";
import { deleteRuns } from "./sqlite-purge.js";
import { listCutLogs, listRetries, retryRun } from "./sqlite-retry.js";
import type {
  AttemptRecord,
  CutLogs,
  UpgradeRecord,
  CancelOutcome,
  TerminateOutcome,
  ClaimedRun,
  WorkerSession,
  JournalSummary,
  LeaseCheck,
  NewSchedule,
  ScheduleChange,
  ScheduleRecord,
  SignalRecord,
  Lease,
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
  Durability,
  Store,
} from "./types.js";

/**
 * The embedded store: one SQLite file in WAL mode. The prepared statements are in
 * sqlite-statements.ts; the journal, leases and claims, signals and children, schedules, and
 * export/import in the sibling sqlite-*.ts modules.
 */
export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: Database.Database;
  private readonly stmt: Statements;
  private readonly journalRead: JournalReadStatements;
  private readonly wide = wideInserts();
  /**
   * appendJournal and finishRun: the writes of all runs on this connection that are ready in the
   * same turn of the event loop are committed in one transaction (commit-group.ts).
   */
  private readonly group: CommitGroup;

  constructor(path: string, durability: Durability = "process") {
    this.location = path;
    if (path !== ":memory:") {
      const dir = dirname(path);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    }
    try {
      const nativeBinding = sqliteAddonPath();
      this.db = new Database(path, nativeBinding === undefined ? { timeout: 30_000 } : { timeout: 30_000, nativeBinding });
    } catch (err) {
      throw new StoreError(`cannot open database ${path}: ${(err as Error).message}; check the path and its permissions`, {
        cause: err,
      });
    }
    try {
      migrate(this.db, path);
      this.db.pragma("journal_mode = WAL");
      // WAL + NORMAL survives a process crash (the OS has every committed page); FULL also survives power loss.
      this.db.pragma(`synchronous = ${durability === "fsync" ? "FULL" : "NORMAL"}`);
      this.db.pragma("foreign_keys = ON");
      this.stmt = prepareStatements(this.db);
      this.journalRead = journalReadStatements(this.db);
      const flush = groupTransaction(this.db, this.stmt, this.wide);
      this.group = new CommitGroup((writes) => {
        try {
          return flush(writes).map((err) => (err === null ? null : sqliteStoreError(err, path)));
        } catch (err) {
          throw sqliteStoreError(err, path);
        }
      });
    } catch (err) {
      this.db.close();
      if (err instanceof DweError) throw err;
      throw new StoreError(`${path} is not a usable dwe database: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.group.idle();
    if (this.db.open) this.db.close();
  }

  /** Runs one operation on the database: better-sqlite3's errors become StoreError, as the PostgreSQL store's do. */
  private async sql<T>(op: () => T | Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw sqliteStoreError(err, this.location);
    }
  }

  async putModule(sha256: string, kind: ModuleKind, bytes: Uint8Array): Promise<void> {
    return this.sql(() => void this.stmt.putModule.run(sha256, kind, bytes.length, bytes, Date.now()));
  }

  async getModule(sha256: string): Promise<{ kind: ModuleKind; bytes: Uint8Array } | undefined> {
    return this.sql(() => {
      const row = this.stmt.getModule.get(sha256) as { kind: ModuleKind; bytes: Buffer } | undefined;
      return row && { kind: row.kind, bytes: new Uint8Array(row.bytes) };
    });
  }

  async putArtifact(sha256: string, kind: string, bytes: Uint8Array): Promise<void> {
    return this.sql(() => void this.stmt.putArtifact.run(sha256, kind, bytes, Date.now()));
  }

  async getArtifact(sha256: string, kind: string): Promise<Uint8Array | undefined> {
    return this.sql(() => {
      const b = this.stmt.getArtifact.get(sha256, kind) as Buffer | undefined;
      return b && new Uint8Array(b);
    });
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    return this.sql(() => {
      this.insertRun(run);
      return mustGet(this.stmt, run.id);
    });
  }

  async createLeasedRun(run: NewRun, owner: string, ttlMs: number): Promise<Lease> {
    return this.sql(() =>
      this.db
        .transaction((): Lease => {
          this.insertRun(run);
          return acquireLease(this.db, this.stmt, run.id, owner, ttlMs, false);
        })
        .immediate(),
    );
  }

  private insertRun(run: NewRun): void {
    try {
      this.stmt.insertRun.run(insertRunParams(run));
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") throw runExists(run.id);
      throw err;
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.sql(() => {
      const row = this.stmt.getRun.get(id) as RunRow | undefined;
      return row && toRecord(row);
    });
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    return this.sql(() => {
      const { sql, params } = runListQuery(filter, () => "?");
      return (this.db.prepare(sql).all(...params) as RunRow[]).map(toRecord);
    });
  }

  async countRuns(): Promise<Partial<Record<RunStatus, number>>> {
    return this.sql(() => countsOf(this.stmt.countRuns.all() as { status: RunStatus; n: number }[]));
  }

  async setRunModule(lease: Lease, sha256: string): Promise<void> {
    const set = this.db.transaction(() => {
      const now = Date.now();
      const row = this.stmt.moduleAndToken.get(lease.rid) as { module: string; lease_token: number } | undefined;
      if (!row || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
      if (row.module === sha256) return;
      this.stmt.setModule.run(sha256, now, lease.rid, lease.token);
      this.stmt.addUpgrade.run(lease.rid, lease.rid, now, row.module, sha256, lease.attempt);
    });
    return this.sql(() => set.immediate());
  }

  async listUpgrades(rid: number): Promise<UpgradeRecord[]> {
    return this.sql(() => (this.stmt.listUpgrades.all(rid) as UpgradeRow[]).map(toUpgrade));
  }

  async setRunGrants(lease: Lease, grants: Grants): Promise<void> {
    const set = this.db.transaction(() => {
      const row = this.stmt.getRun.get(lease.runId) as RunRow | undefined;
      if (!row || row.rid !== lease.rid || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
      const { config: stored, problem } = decodeRunConfig(row.config);
      if (problem !== null) return; // left as it is: the attempt fails the run with corrupt_run
      const config = { ...stored, grants };
      this.db
        .prepare("UPDATE runs SET config = ?, updated_at = ? WHERE rid = ? AND lease_token = ?")
        .run(pack(config), Date.now(), lease.rid, lease.token);
    });
    return this.sql(() => set.immediate());
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease> {
    return this.sql(() => acquireLease(this.db, this.stmt, runId, owner, ttlMs, steal));
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    return this.sql(() => {
      const expiresAt = Date.now() + ttlMs;
      const ok = this.stmt.renewLease.run(expiresAt, lease.rid, lease.token).changes === 1;
      if (ok) lease.expiresAt = expiresAt;
      return ok;
    });
  }

  async finishRun(lease: Lease, end: RunEnd): Promise<void> {
    return this.group.submit({ kind: "finish", lease, end });
  }

  async readJournal(rid: number): Promise<JournalEntry[]> {
    return this.sql(() => readJournal(this.db, this.journalRead, this.location, rid));
  }

  async appendJournal(lease: Lease, entries: readonly JournalEntry[], logs: readonly LogRecord[]): Promise<void> {
    if (entries.length === 0 && logs.length === 0) return Promise.resolve();
    return this.group.submit({ kind: "append", lease, entries, logs });
  }

  async summarizeJournal(rid: number): Promise<JournalSummary> {
    return this.sql(() => summarizeJournal(this.stmt, rid));
  }

  async readLogs(rid: number): Promise<LogRecord[]> {
    return this.sql(() => this.stmt.readLogs.all(rid) as LogRecord[]);
  }

  async readJournalRecords(rid: number, from: number): Promise<JournalRecord[]> {
    return this.sql(() => readJournalRecords(this.db, this.stmt, this.location, rid, from));
  }

  async listAttempts(rid: number): Promise<AttemptRecord[]> {
    return this.sql(() => (this.stmt.listAttempts.all(rid) as AttemptRow[]).map(toAttempt));
  }

  async retryRun(runId: string, retry: RunRetry): Promise<RunRecord> {
    return this.sql(() => retryRun(this.db, this.stmt, runId, retry));
  }

  async listRetries(rid: number): Promise<RetryRecord[]> {
    return this.sql(() => listRetries(this.db, this.location, rid));
  }

  async listCutLogs(rid: number): Promise<CutLogs[]> {
    return this.sql(() => listCutLogs(this.db, rid));
  }

  /** Nothing to hold: a worker's liveness on SQLite is its pid on this host (lease-owner.ts). */
  openWorkerSession(): Promise<WorkerSession> {
    return Promise.resolve({ close: () => Promise.resolve() });
  }

  async claimRuns(owner: string, limit: number, ttlMs: number, now: number, takeOver = true): Promise<ClaimedRun[]> {
    if (limit <= 0) return Promise.resolve([]);
    return this.sql(() => claimRuns(this.db, this.stmt, owner, limit, ttlMs, now, takeOver));
  }

  async renewLeases(leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]> {
    if (leases.length === 0) return Promise.resolve([]);
    return this.sql(() => renewLeases(this.db, this.stmt, leases, ttlMs));
  }

  async requestCancel(runId: string): Promise<CancelOutcome> {
    return this.sql(() => requestCancel(this.db, this.stmt, runId));
  }

  async terminate(runId: string): Promise<TerminateOutcome> {
    return this.sql(() => terminate(this.db, this.stmt, runId));
  }

  async deleteRuns(which: RunDeletion): Promise<string[]> {
    return this.sql(() => deleteRuns(this.db, which));
  }

  async sendSignal(runId: string, name: string, data: Uint8Array): Promise<number> {
    return this.sql(() => sendSignal(this.db, this.stmt, runId, name, data));
  }

  async takeSignal(lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined> {
    return this.sql(() => takeSignal(this.db, this.stmt, lease, name, seq));
  }

  async listSignals(rid: number): Promise<SignalRecord[]> {
    return this.sql(() => (this.stmt.listSignals.all(rid) as SignalRow[]).map(toSignal));
  }

  async createChild(lease: Lease, child: NewRun): Promise<RunRecord> {
    return this.sql(() => createChild(this.db, this.stmt, lease, child));
  }

  async addSchedule(sc: NewSchedule): Promise<void> {
    return this.sql(() => addSchedule(this.stmt, sc));
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return this.sql(() => (this.stmt.listSchedules.all() as ScheduleRow[]).map(toSchedule));
  }

  async removeSchedule(name: string): Promise<boolean> {
    return this.sql(() => this.stmt.removeSchedule.run(name).changes === 1);
  }

  async updateSchedule(name: string, change: ScheduleChange): Promise<boolean> {
    return this.sql(() => updateSchedule(this.db, name, change));
  }

  async fireSchedule(name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean> {
    return this.sql(() => fireSchedule(this.db, this.stmt, name, tick, nextTick, run));
  }

  async exportRun(runId: string): Promise<RunExport> {
    return this.sql(() => exportRun(this.db, this.stmt, this.journalRead, this.location, runId));
  }

  async importRun(bundle: RunExport): Promise<RunRecord> {
    return this.sql(() => importRun(this.db, this.stmt, this.location, bundle));
  }
}
