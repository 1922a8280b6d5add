import { type RunRow, type ScheduleRow, type SignalRow, toRecord, toSchedule, toSignal } from "./rows.js";
import Database from "better-sqlite3";
import { mkdirSync, existsSync } from "node:fs";
import { dirname } from "node:path";
import { pack, unpack } from "msgpackr";
import { CorruptJournal, DweError, LeaseLost, RunNotFound, RunStateError, StoreError } from "../errors.js";
import type { EntryState, JournalEntry, LogRecord } from "../journal/entry.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../journal/ops.js";
import { migrate } from "./sqlite-schema.js";
import { ownerIsDeadLocally } from "./lease-owner.js";
import type { Grants } from "../executor/grants.js";
import {
  type CancelOutcome,
  type ClaimedRun,
  type JournalSummary,
  type LeaseCheck,
  type ScheduleRecord,
  type SignalRecord,
  type Lease,
  type ModuleKind,
  type NewRun,
  type RunConfig,
  type RunEnd,
  type RunExport,
  type RunFilter,
  type RunRecord,
  type RunStatus,
  type Store,
  RUN_TRANSITIONS,
} from "./types.js";

export type Durability = "process" | "fsync";

/** Rows per multi-row journal insert, widest first (see putEntries). */
const WIDE_INSERTS = [128, 16] as const;

/** Moved to engine/errors.ts (shared by both stores); re-exported for existing imports. */
export { LeaseLost } from "../errors.js";

/** The embedded store: one SQLite file in WAL mode. */
export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteStore["prepare"]>;

  constructor(path: string, durability: Durability = "process") {
    this.location = path;
    if (path !== ":memory:") {
      const dir = dirname(path);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    }
    try {
      this.db = new Database(path, { timeout: 30_000 });
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
      this.stmt = this.prepare();
    } catch (err) {
      this.db.close();
      if (err instanceof DweError) throw err;
      throw new StoreError(`${path} is not a usable dwe database: ${(err as Error).message}`, { cause: err });
    }
  }

  private prepare() {
    const db = this.db;
    return {
      putModule: db.prepare("INSERT OR IGNORE INTO modules (sha256, kind, size, bytes, created_at) VALUES (?, ?, ?, ?, ?)"),
      getModule: db.prepare("SELECT kind, bytes FROM modules WHERE sha256 = ?"),
      putArtifact: db.prepare("INSERT OR REPLACE INTO module_artifacts (sha256, kind, bytes, created_at) VALUES (?, ?, ?, ?)"),
      getArtifact: db.prepare("SELECT bytes FROM module_artifacts WHERE sha256 = ? AND kind = ?").pluck(),
      insertRun: db.prepare(
        `INSERT INTO runs (id, module, entry, input, config, status, created_at, updated_at, parent_id)
         VALUES (@id, @module, @entry, @input, @config, @status, @now, @now, @parentId)`,
      ),
      getRun: db.prepare("SELECT * FROM runs WHERE id = ?"),
      listRuns: db.prepare("SELECT * FROM runs ORDER BY created_at DESC, rid DESC LIMIT ?"),
      listChildren: db.prepare("SELECT * FROM runs WHERE parent_id = ? ORDER BY created_at, rid LIMIT ?"),
      listRunsByStatus: db.prepare("SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC, rid DESC LIMIT ?"),
      leaseToken: db.prepare("SELECT lease_token FROM runs WHERE rid = ?").pluck(),
      takeLease: db.prepare(
        `UPDATE runs SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, updated_at = ? WHERE rid = ?`,
      ),
      renewLease: db.prepare("UPDATE runs SET lease_expires = ? WHERE rid = ? AND lease_token = ?"),
      setModule: db.prepare("UPDATE runs SET module = ?, updated_at = ? WHERE rid = ? AND lease_token = ?"),
      finish: db.prepare(
        `UPDATE runs SET status = @status, output = @output, error = @error, wake_at = @wakeAt, finished_at = @finishedAt,
         lease_owner = NULL, lease_expires = NULL, attempts = attempts - @undo, updated_at = @now
         WHERE rid = @rid AND lease_token = @token`,
      ),
      readJournal: db.prepare("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = ? ORDER BY seq").raw(),
      putEntry: db.prepare("INSERT OR REPLACE INTO journal (rid, seq, op, digest, state, payload, sum) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      putLog: db.prepare("INSERT OR REPLACE INTO logs (rid, seq, stream, level, message, at) VALUES (?, ?, ?, ?, ?, ?)"),
      readLogs: db.prepare("SELECT seq, stream, level, message, at FROM logs WHERE rid = ? ORDER BY seq"),
      wakeParent: db.prepare("UPDATE runs SET wake_requested = 1 WHERE id = (SELECT parent_id FROM runs WHERE rid = ?)"),
      claimable: db.prepare(
        `SELECT rid, id, status, wake_at, lease_token, cancel_requested, config FROM runs
         WHERE status = 'pending'
            OR (status = 'suspended' AND (wake_requested = 1 OR (wake_at IS NOT NULL AND wake_at <= @now)))
            OR (status = 'running' AND (lease_expires IS NULL OR lease_expires <= @now))
         ORDER BY COALESCE(wake_at, created_at), rid LIMIT @limit`,
      ),
      claim: db.prepare(
        `UPDATE runs SET lease_owner = ?, lease_expires = ?, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, wake_requested = 0, updated_at = ? WHERE rid = ?`,
      ),
      cancelNow: db.prepare(
        `UPDATE runs SET status = 'cancelled', error = ?, finished_at = ?, updated_at = ?, lease_owner = NULL,
         lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1 WHERE rid = ?`,
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
        `INSERT INTO schedules (name, cron, module, entry, input, config, next_tick, created_at)
         VALUES (@name, @cron, @module, @entry, @input, @config, @nextTick, @now)`,
      ),
      listSchedules: db.prepare("SELECT * FROM schedules ORDER BY name"),
      removeSchedule: db.prepare("DELETE FROM schedules WHERE name = ?"),
      advanceSchedule: db.prepare("UPDATE schedules SET next_tick = ?, last_tick = ? WHERE name = ? AND next_tick = ?"),
      summary: db.prepare(
        "SELECT op, COUNT(*) AS n, SUM(state = 0) AS intents, SUM(length(payload)) AS bytes FROM journal WHERE rid = ? GROUP BY op",
      ),
    };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  async putModule(sha256: string, kind: ModuleKind, bytes: Uint8Array): Promise<void> {
    this.stmt.putModule.run(sha256, kind, bytes.length, bytes, Date.now());
    return Promise.resolve();
  }

  async getModule(sha256: string): Promise<{ kind: ModuleKind; bytes: Uint8Array } | undefined> {
    const row = this.stmt.getModule.get(sha256) as { kind: ModuleKind; bytes: Buffer } | undefined;
    return Promise.resolve(row && { kind: row.kind, bytes: new Uint8Array(row.bytes) });
  }

  async putArtifact(sha256: string, kind: string, bytes: Uint8Array): Promise<void> {
    this.stmt.putArtifact.run(sha256, kind, bytes, Date.now());
    return Promise.resolve();
  }

  async getArtifact(sha256: string, kind: string): Promise<Uint8Array | undefined> {
    const b = this.stmt.getArtifact.get(sha256, kind) as Buffer | undefined;
    return Promise.resolve(b && new Uint8Array(b));
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    try {
      this.stmt.insertRun.run({
        id: run.id,
        module: run.module,
        entry: run.entry,
        input: run.input,
        config: pack(run.config),
        status: run.status,
        now: Date.now(),
        parentId: run.parentId,
      });
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new RunStateError(`a run with id '${run.id}' already exists; pick another --id or resume it with \`dwe resume ${run.id}\``);
      }
      throw err;
    }
    return Promise.resolve(this.mustGet(run.id));
  }

  private mustGet(id: string): RunRecord {
    const row = this.stmt.getRun.get(id) as RunRow | undefined;
    if (!row) throw new RunNotFound(id);
    return toRecord(row);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.stmt.getRun.get(id) as RunRow | undefined;
    return Promise.resolve(row && toRecord(row));
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const limit = filter.limit ?? 1000;
    let rows: RunRow[];
    if (filter.parentId !== undefined) {
      rows = (this.stmt.listChildren.all(filter.parentId, limit) as RunRow[]).filter((r) => !filter.status || r.status === filter.status);
    } else if (filter.status) rows = this.stmt.listRunsByStatus.all(filter.status, limit) as RunRow[];
    else rows = this.stmt.listRuns.all(limit) as RunRow[];
    return Promise.resolve(rows.map(toRecord));
  }

  async setRunModule(lease: Lease, sha256: string): Promise<void> {
    const r = this.stmt.setModule.run(sha256, Date.now(), lease.rid, lease.token);
    if (r.changes !== 1) throw new LeaseLost(lease.runId);
    return Promise.resolve();
  }

  async setRunGrants(lease: Lease, grants: Grants): Promise<void> {
    const set = this.db.transaction(() => {
      const row = this.stmt.getRun.get(lease.runId) as RunRow | undefined;
      if (!row || row.rid !== lease.rid || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
      const config = { ...(unpack(row.config) as RunConfig), grants };
      this.db
        .prepare("UPDATE runs SET config = ?, updated_at = ? WHERE rid = ? AND lease_token = ?")
        .run(pack(config), Date.now(), lease.rid, lease.token);
    });
    set.immediate();
    return Promise.resolve();
  }

  async acquireLease(runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease> {
    const take = this.db.transaction((): Lease => {
      const run = this.mustGet(runId);
      if (RUN_TRANSITIONS[run.status].length === 0) {
        throw new RunStateError(`run ${runId} is ${run.status}; a ${run.status} run cannot be executed again`);
      }
      const now = Date.now();
      const held = run.leaseOwner !== null && run.leaseExpiresAt !== null && run.leaseExpiresAt > now;
      if (held && !steal && !ownerIsDeadLocally(run.leaseOwner!)) {
        throw new RunStateError(
          `run ${runId} is being executed by ${run.leaseOwner} (lease until ${new Date(run.leaseExpiresAt!).toISOString()}); ` +
            `wait for it, or stop that process and try again`,
        );
      }
      const expiresAt = now + ttlMs;
      this.stmt.takeLease.run(owner, expiresAt, now, run.rid);
      return { runId, rid: run.rid, owner, token: run.leaseToken + 1, expiresAt };
    });
    return Promise.resolve(take.immediate());
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    const expiresAt = Date.now() + ttlMs;
    const ok = this.stmt.renewLease.run(expiresAt, lease.rid, lease.token).changes === 1;
    if (ok) lease.expiresAt = expiresAt;
    return Promise.resolve(ok);
  }

  async finishRun(lease: Lease, end: RunEnd): Promise<void> {
    return Promise.resolve(this.db.transaction(() => this.finishNow(lease, end)).immediate());
  }

  private finishNow(lease: Lease, end: RunEnd): void {
    const now = Date.now();
    const terminal = end.status === "completed" || end.status === "failed" || end.status === "cancelled";
    const r = this.stmt.finish.run({
      rid: lease.rid,
      token: lease.token,
      status: end.status === "released" ? end.previous : end.status,
      output: end.status === "completed" ? end.output : null,
      error: end.status === "failed" || end.status === "cancelled" ? JSON.stringify(end.error) : null,
      wakeAt: end.status === "suspended" || end.status === "released" ? end.wakeAt : null,
      finishedAt: terminal ? now : null,
      undo: end.status === "released" ? 1 : 0,
      now,
    });
    if (r.changes !== 1) throw new LeaseLost(lease.runId);
    if (terminal) this.stmt.wakeParent.run(lease.rid);
  }

  async readJournal(rid: number): Promise<JournalEntry[]> {
    const rows = this.stmt.readJournal.all(rid) as [number, number, number, number, Buffer, number][];
    const out: JournalEntry[] = new Array<JournalEntry>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [seq, op, digest, state, payload, sum] = rows[i]!;
      if (seq !== i + 1) {
        throw new CorruptJournal(
          `run ${this.runName(rid)}: the journal has a gap (expected seq ${i + 1}, found seq ${seq}): the database ${this.location} was damaged; ` +
            `nothing was run or changed. Restore the database from a backup`,
        );
      }
      if (entryChecksum(seq, op, digest, state, payload) !== sum) {
        throw new CorruptJournal(
          `run ${this.runName(rid)}: journal entry seq ${seq} (${opName(op)}) fails its checksum: the database ${this.location} was damaged; ` +
            `nothing was run or changed. Restore the database from a backup`,
        );
      }
      out[i] = { seq, op, digest, state: state as EntryState, payload };
    }
    return Promise.resolve(out);
  }

  /** The id of run `rid`, for error messages. */
  private runName(rid: number): string {
    const id = this.db.prepare("SELECT id FROM runs WHERE rid = ?").pluck().get(rid) as string | undefined;
    return id ?? `#${rid}`;
  }

  async appendJournal(lease: Lease, entries: readonly JournalEntry[], logs: readonly LogRecord[]): Promise<void> {
    if (entries.length === 0 && logs.length === 0) return Promise.resolve();
    this.appendTx ??= this.db.transaction((l: Lease, es: readonly JournalEntry[], ls: readonly LogRecord[]): void => {
      if (this.stmt.leaseToken.get(l.rid) !== l.token) throw new LeaseLost(l.runId);
      this.putEntries(l.rid, es);
      for (const g of ls) this.stmt.putLog.run(l.rid, g.seq, g.stream, g.level, g.message, g.at);
    });
    this.appendTx.immediate(lease, entries, logs);
    return Promise.resolve();
  }

  /** The transaction of appendJournal, made once: it runs for every commit. */
  private appendTx: Database.Transaction<(l: Lease, es: readonly JournalEntry[], ls: readonly LogRecord[]) => void> | null = null;

  /**
   * Inserts entries with multi-row statements (128 and 16 rows a statement, then one by one): a
   * batch of buffered reads costs a few statement executions instead of one per entry.
   */
  private putEntries(rid: number, entries: readonly JournalEntry[]): void {
    let i = 0;
    for (const width of WIDE_INSERTS) {
      if (entries.length - i < width) continue;
      const stmt = this.wideInsert(width);
      const args = this.wideArgs;
      args.length = width * 7;
      for (; i + width <= entries.length; i += width) {
        for (let j = 0; j < width; j++) {
          const e = entries[i + j]!;
          const o = j * 7;
          args[o] = rid;
          args[o + 1] = e.seq;
          args[o + 2] = e.op;
          args[o + 3] = e.digest;
          args[o + 4] = e.state;
          args[o + 5] = e.payload;
          args[o + 6] = entryChecksum(e.seq, e.op, e.digest, e.state, e.payload);
        }
        stmt.run(args);
      }
      args.fill(null); // keep no payloads alive
    }
    for (; i < entries.length; i++) {
      const e = entries[i]!;
      this.stmt.putEntry.run(rid, e.seq, e.op, e.digest, e.state, e.payload, entryChecksum(e.seq, e.op, e.digest, e.state, e.payload));
    }
  }

  private readonly wideArgs: unknown[] = [];
  private readonly wideStmts = new Map<number, Database.Statement>();

  private wideInsert(width: number): Database.Statement {
    let stmt = this.wideStmts.get(width);
    if (!stmt) {
      stmt = this.db.prepare(
        `INSERT OR REPLACE INTO journal (rid, seq, op, digest, state, payload, sum) VALUES ${Array<string>(width).fill("(?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
      );
      this.wideStmts.set(width, stmt);
    }
    return stmt;
  }

  async summarizeJournal(rid: number): Promise<JournalSummary> {
    const rows = this.stmt.summary.all(rid) as { op: number; n: number; intents: number; bytes: number }[];
    const s: JournalSummary = { entries: 0, intents: 0, byOp: {}, bytes: 0 };
    for (const r of rows) {
      s.entries += r.n;
      s.intents += r.intents;
      s.bytes += r.bytes;
      s.byOp[opName(r.op)] = r.n;
    }
    return Promise.resolve(s);
  }

  async readLogs(rid: number): Promise<LogRecord[]> {
    return Promise.resolve(this.stmt.readLogs.all(rid) as LogRecord[]);
  }

  async claimRuns(owner: string, limit: number, ttlMs: number, now: number): Promise<ClaimedRun[]> {
    if (limit <= 0) return Promise.resolve([]);
    const claim = this.db.transaction((): ClaimedRun[] => {
      const rows = this.stmt.claimable.all({ now, limit }) as {
        rid: number;
        id: string;
        status: RunStatus;
        wake_at: number | null;
        lease_token: number;
        cancel_requested: number;
        config: Buffer;
      }[];
      const out: ClaimedRun[] = [];
      for (const r of rows) {
        if (r.cancel_requested) {
          this.cancelRow(r.rid, now);
          continue;
        }
        const expiresAt = now + ttlMs;
        this.stmt.claim.run(owner, expiresAt, now, r.rid);
        const config = unpack(r.config) as RunConfig;
        out.push({
          lease: { runId: r.id, rid: r.rid, owner, token: r.lease_token + 1, expiresAt },
          previous: r.status,
          wakeAt: r.wake_at,
          timeoutMs: config.timeoutMs,
        });
      }
      return out;
    });
    return Promise.resolve(claim.immediate());
  }

  private cancelRow(rid: number, now: number): void {
    const error = JSON.stringify({ code: "cancelled", message: "the run was cancelled (dwe cancel)" });
    this.stmt.cancelNow.run(error, now, now, rid);
    this.stmt.wakeParent.run(rid);
  }

  async renewLeases(leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]> {
    if (leases.length === 0) return Promise.resolve([]);
    const renew = this.db.transaction((): LeaseCheck[] => {
      const expiresAt = Date.now() + ttlMs;
      return leases.map((l) => {
        const held = this.stmt.renewLease.run(expiresAt, l.rid, l.token).changes === 1;
        if (held) l.expiresAt = expiresAt;
        const flag = held ? (this.stmt.cancelFlag.get(l.rid, l.token) as number | undefined) : 0;
        return { runId: l.runId, held, cancelRequested: flag === 1 };
      });
    });
    return Promise.resolve(renew.immediate());
  }

  async requestCancel(runId: string): Promise<CancelOutcome> {
    const cancel = this.db.transaction((): CancelOutcome => {
      const root = this.mustGet(runId);
      if (RUN_TRANSITIONS[root.status].length === 0) {
        throw new RunStateError(`run ${runId} is already ${root.status}; only a pending, running or suspended run can be cancelled`);
      }
      const now = Date.now();
      const out: CancelOutcome = { cancelled: [], requested: [] };
      for (const row of this.stmt.family.all(runId) as RunRow[]) {
        const r = toRecord(row);
        if (RUN_TRANSITIONS[r.status].length === 0) continue;
        const live = r.status === "running" && r.leaseExpiresAt !== null && r.leaseExpiresAt > now;
        if (live) {
          this.stmt.askCancel.run(now, r.rid);
          out.requested.push(r.id);
        } else {
          this.cancelRow(r.rid, now);
          out.cancelled.push(r.id);
        }
      }
      return out;
    });
    return Promise.resolve(cancel.immediate());
  }

  async sendSignal(runId: string, name: string, data: Uint8Array): Promise<number> {
    const send = this.db.transaction((): number => {
      const run = this.mustGet(runId);
      if (RUN_TRANSITIONS[run.status].length === 0) {
        throw new RunStateError(`run ${runId} is ${run.status}; signals can only be sent to a run that has not ended`);
      }
      const id = Number(this.stmt.insertSignal.run(run.rid, name, data, Date.now()).lastInsertRowid);
      this.stmt.wake.run(run.rid);
      return id;
    });
    return Promise.resolve(send.immediate());
  }

  async takeSignal(lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined> {
    const take = this.db.transaction((): SignalRecord | undefined => {
      if (this.stmt.leaseToken.get(lease.rid) !== lease.token) throw new LeaseLost(lease.runId);
      const done = this.stmt.signalBySeq.get(lease.rid, seq) as SignalRow | undefined;
      if (done) return toSignal(done);
      const next = this.stmt.nextSignal.get(lease.rid, name) as SignalRow | undefined;
      if (!next) return undefined;
      this.stmt.consumeSignal.run(seq, next.id);
      return { ...toSignal(next), consumedSeq: seq };
    });
    return Promise.resolve(take.immediate());
  }

  async listSignals(rid: number): Promise<SignalRecord[]> {
    return Promise.resolve((this.stmt.listSignals.all(rid) as SignalRow[]).map(toSignal));
  }

  async createChild(lease: Lease, child: NewRun): Promise<RunRecord> {
    const create = this.db.transaction((): RunRecord => {
      if (this.stmt.leaseToken.get(lease.rid) !== lease.token) throw new LeaseLost(lease.runId);
      const existing = this.stmt.getRun.get(child.id) as RunRow | undefined;
      if (existing) {
        if (existing.parent_id !== lease.runId)
          throw new RunStateError(`run id '${child.id}' is taken by a run that is not a child of ${lease.runId}`);
        return toRecord(existing);
      }
      this.stmt.insertRun.run({
        id: child.id,
        module: child.module,
        entry: child.entry,
        input: child.input,
        config: pack(child.config),
        status: child.status,
        now: Date.now(),
        parentId: child.parentId,
      });
      return this.mustGet(child.id);
    });
    return Promise.resolve(create.immediate());
  }

  async addSchedule(sc: Omit<ScheduleRecord, "lastTick" | "createdAt">): Promise<void> {
    try {
      this.stmt.insertSchedule.run({
        name: sc.name,
        cron: sc.cron,
        module: sc.module,
        entry: sc.entry,
        input: sc.input,
        config: pack(sc.config),
        nextTick: sc.nextTick,
        now: Date.now(),
      });
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw new RunStateError(`a schedule named '${sc.name}' already exists; remove it first with \`dwe schedule remove ${sc.name}\``);
      }
      throw err;
    }
    return Promise.resolve();
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return Promise.resolve((this.stmt.listSchedules.all() as ScheduleRow[]).map(toSchedule));
  }

  async removeSchedule(name: string): Promise<boolean> {
    return Promise.resolve(this.stmt.removeSchedule.run(name).changes === 1);
  }

  async fireSchedule(name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean> {
    const fire = this.db.transaction((): boolean => {
      if (this.stmt.advanceSchedule.run(nextTick, tick, name, tick).changes !== 1) return false;
      if (this.stmt.getRun.get(run.id)) return true;
      this.stmt.insertRun.run({
        id: run.id,
        module: run.module,
        entry: run.entry,
        input: run.input,
        config: pack(run.config),
        status: run.status,
        now: Date.now(),
        parentId: run.parentId,
      });
      return true;
    });
    return Promise.resolve(fire.immediate());
  }

  async exportRun(runId: string): Promise<RunExport> {
    // One read transaction: the run, its journal, logs and signals as of one moment.
    const snapshot = this.db.transaction((): { row: RunRow; journal: Promise<JournalEntry[]>; logs: LogRecord[]; signals: SignalRow[] } => {
      const row = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(runId) as
        (RunRow & { wake_requested: number; cancel_requested: number }) | undefined;
      if (!row) throw new RunNotFound(runId);
      return {
        row,
        journal: this.readJournal(row.rid),
        logs: this.stmt.readLogs.all(row.rid) as LogRecord[],
        signals: this.stmt.listSignals.all(row.rid) as SignalRow[],
      };
    });
    return (async () => {
      const snap = snapshot.deferred();
      const row = snap.row as RunRow & { wake_requested: number; cancel_requested: number };
      const mod = this.stmt.getModule.get(row.module) as { kind: ModuleKind; bytes: Buffer } | undefined;
      if (!mod) throw new StoreError(`run ${runId} pins module ${row.module}, which is missing from ${this.location}`);
      const { rid: _rid, ...run } = toRecord(row);
      return {
        run: { ...run, wakeRequested: row.wake_requested === 1, cancelRequested: row.cancel_requested === 1 },
        module: { sha256: row.module, kind: mod.kind, bytes: new Uint8Array(mod.bytes) },
        journal: await snap.journal,
        logs: snap.logs,
        signals: snap.signals.map(toSignal),
      };
    })();
  }

  async importRun(bundle: RunExport): Promise<RunRecord> {
    const put = this.db.transaction((): RunRecord => {
      const r = bundle.run;
      if (this.stmt.getRun.get(r.id))
        throw new RunStateError(`a run with id '${r.id}' already exists in ${this.location}; nothing was imported`);
      const m = bundle.module;
      this.stmt.putModule.run(m.sha256, m.kind, m.bytes.length, m.bytes, Date.now());
      const rid = Number(
        this.db
          .prepare(
            `INSERT INTO runs (id, module, entry, input, config, status, output, error, created_at, updated_at, finished_at,
             wake_at, attempts, parent_id, lease_owner, lease_expires, lease_token, wake_requested, cancel_requested)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)`,
          )
          .run(
            r.id,
            r.module,
            r.entry,
            r.input,
            pack(r.config),
            r.status,
            r.output,
            r.error === null ? null : JSON.stringify(r.error),
            r.createdAt,
            Date.now(),
            r.finishedAt,
            r.wakeAt,
            r.attempts,
            r.parentId,
            r.leaseToken,
            r.wakeRequested ? 1 : 0,
            r.cancelRequested ? 1 : 0,
          ).lastInsertRowid,
      );
      for (const e of bundle.journal) {
        this.stmt.putEntry.run(rid, e.seq, e.op, e.digest, e.state, e.payload, entryChecksum(e.seq, e.op, e.digest, e.state, e.payload));
      }
      for (const l of bundle.logs) this.stmt.putLog.run(rid, l.seq, l.stream, l.level, l.message, l.at);
      const sig = this.db.prepare("INSERT INTO signals (rid, name, data, sent_at, consumed_seq) VALUES (?, ?, ?, ?, ?)");
      for (const g of bundle.signals) sig.run(rid, g.name, g.data, g.sentAt, g.consumedSeq);
      return this.mustGet(r.id);
    });
    return Promise.resolve(put.immediate());
  }
}
