import { type RunRow, type ScheduleRow, type SignalRow, toRecord, toSchedule, toSignal } from "./rows.js";
import { createRequire } from "node:module";
import type pg from "pg";
import { pack, unpack } from "msgpackr";
import { CorruptJournal, DweError, LeaseLost, RunNotFound, RunStateError, StoreError } from "../errors.js";
import type { EntryState, JournalEntry, LogRecord } from "../journal/entry.js";
import type { Grants } from "../executor/grants.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../journal/ops.js";
import { ownerIsDeadLocally } from "./lease-owner.js";
import { migratePg } from "./pg-schema.js";
import { pgLocation, type PgTarget } from "./pg-url.js";
import {
  type CancelOutcome,
  type ClaimedRun,
  type JournalSummary,
  type Lease,
  type LeaseCheck,
  type ModuleKind,
  type NewRun,
  type RunConfig,
  type RunEnd,
  type RunExport,
  type RunFilter,
  type RunRecord,
  type RunStatus,
  type ScheduleRecord,
  type SignalRecord,
  type Store,
  RUN_TRANSITIONS,
} from "./types.js";

type Durability = "process" | "fsync";
type Db = pg.PoolClient;

/** The pg driver, loaded on first use: commands on an SQLite database do not pay for it at startup. */
let pgDriver: typeof pg | null = null;
function pgLib(): typeof pg {
  return (pgDriver ??= createRequire(import.meta.url)("pg") as typeof pg);
}

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** BIGINT (int8) and NUMERIC come back as JavaScript numbers: every value dwe stores fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pgLib().types.getTypeParser(oid, format as "text") as (v: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

/** PostgreSQL SQLSTATEs worth retrying the whole transaction for. */
const RETRY = new Set(["40001", "40P01"]);
const UNIQUE = "23505";
/** Attempts for a statement or transaction that lost its connection (about 3 s of back-off in all). */
const RECONNECT_TRIES = 6;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(1600, 100 * 2 ** (attempt - 1))));

/** Connections per store (per process, and per worker executor thread): $DWE_PG_POOL, default 4. */
function poolSizeFromEnv(): number {
  const v = Number(process.env.DWE_PG_POOL ?? "4");
  return Number.isInteger(v) && v > 0 ? v : 4;
}

/** The server went away or restarted (or is not accepting connections yet): try again on a new connection. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? e?.cause?.code;
  if (
    typeof code === "string" &&
    (code.startsWith("08") || ["57P01", "57P02", "57P03", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"].includes(code))
  ) {
    return true;
  }
  return /Connection terminated|connection timeout|connection error/i.test(e?.message ?? "");
}

const CLAIMABLE = `
  status = 'pending'
  OR (status = 'suspended' AND (wake_requested = 1 OR (wake_at IS NOT NULL AND wake_at <= $1)))
  OR (status = 'running' AND (lease_expires IS NULL OR lease_expires <= $1))`;

const INSERT_RUN = `INSERT INTO runs (id, module, entry, input, config, status, created_at, updated_at, parent_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING *`;

function insertRunParams(run: NewRun, now: number): unknown[] {
  return [run.id, run.module, run.entry, buf(run.input), pack(run.config), run.status, now, run.parentId];
}

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
  private ready: Promise<void> | null = null;
  private closed = false;

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
    this.pool = new (pgLib().Pool)({
      connectionString: target.url,
      max: opts.poolSize ?? poolSizeFromEnv(),
      options: options.join(" "),
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
    try {
      return await this.tx(async (c) => toRecord((await c.query<RunRow>(INSERT_RUN, insertRunParams(run, Date.now()))).rows[0]!), true);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE || (err as { cause?: { code?: string } }).cause?.code === UNIQUE) {
        throw new RunStateError(`a run with id '${run.id}' already exists; pick another --id or resume it with \`dwe resume ${run.id}\``);
      }
      throw err;
    }
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = (await this.q<RunRow>("SELECT * FROM runs WHERE id = $1", [id])).rows[0];
    return row && toRecord(row);
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const limit = filter.limit ?? 1000;
    let r: pg.QueryResult<RunRow>;
    if (filter.parentId !== undefined) {
      r = await this.q<RunRow>(
        "SELECT * FROM runs WHERE parent_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, rid LIMIT $3",
        [filter.parentId, filter.status ?? null, limit],
      );
    } else if (filter.status) {
      r = await this.q<RunRow>("SELECT * FROM runs WHERE status = $1 ORDER BY created_at DESC, rid DESC LIMIT $2", [filter.status, limit]);
    } else {
      r = await this.q<RunRow>("SELECT * FROM runs ORDER BY created_at DESC, rid DESC LIMIT $1", [limit]);
    }
    return r.rows.map(toRecord);
  }

  async setRunModule(lease: Lease, sha256: string): Promise<void> {
    const r = await this.q("UPDATE runs SET module = $1, updated_at = $2 WHERE rid = $3 AND lease_token = $4", [
      sha256,
      Date.now(),
      lease.rid,
      lease.token,
    ]);
    if (r.rowCount !== 1) throw new LeaseLost(lease.runId);
  }

  async setRunGrants(lease: Lease, grants: Grants): Promise<void> {
    await this.tx(async (c) => {
      const row = (
        await c.query<{ config: Buffer; lease_token: number }>("SELECT config, lease_token FROM runs WHERE rid = $1 FOR UPDATE", [
          lease.rid,
        ])
      ).rows[0];
      if (!row || row.lease_token !== lease.token) throw new LeaseLost(lease.runId);
      const config = { ...(unpack(row.config) as RunConfig), grants };
      await c.query("UPDATE runs SET config = $1, updated_at = $2 WHERE rid = $3", [pack(config), Date.now(), lease.rid]);
    });
  }

  // ---- leases ----

  async acquireLease(runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease> {
    return this.tx(async (c) => {
      const row = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1 FOR UPDATE", [runId])).rows[0];
      if (!row) throw new RunNotFound(runId);
      const run = toRecord(row);
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
      const r = await c.query<{ lease_token: number }>(
        `UPDATE runs SET lease_owner = $1, lease_expires = $2, lease_token = lease_token + 1, status = 'running',
         attempts = attempts + 1, updated_at = $3 WHERE rid = $4 RETURNING lease_token`,
        [owner, expiresAt, now, run.rid],
      );
      return { runId, rid: run.rid, owner, token: r.rows[0]!.lease_token, expiresAt };
    }, true);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    const expiresAt = Date.now() + ttlMs;
    const r = await this.q(
      "UPDATE runs SET lease_expires = $1 WHERE rid = $2 AND lease_token = $3",
      [expiresAt, lease.rid, lease.token],
      true,
    );
    const ok = r.rowCount === 1;
    if (ok) lease.expiresAt = expiresAt;
    return ok;
  }

  async finishRun(lease: Lease, end: RunEnd): Promise<void> {
    const now = Date.now();
    const terminal = end.status === "completed" || end.status === "failed" || end.status === "cancelled";
    // One statement (one round trip): the fenced update of the run, and waking its parent when it ended.
    const r = await this.q<{ n: number }>(
      `WITH f AS (
         UPDATE runs SET status = $1, output = $2, error = $3, wake_at = $4, finished_at = $5,
         lease_owner = NULL, lease_expires = NULL, attempts = attempts - $6, updated_at = $7
         WHERE rid = $8 AND lease_token = $9 RETURNING parent_id),
       w AS (UPDATE runs SET wake_requested = 1 WHERE $10::boolean AND id = (SELECT parent_id FROM f))
       SELECT COUNT(*)::int AS n FROM f`,
      [
        end.status === "released" ? end.previous : end.status,
        end.status === "completed" && end.output !== null ? buf(end.output) : null,
        end.status === "failed" || end.status === "cancelled" ? JSON.stringify(end.error) : null,
        end.status === "suspended" || end.status === "released" ? end.wakeAt : null,
        terminal ? now : null,
        end.status === "released" ? 1 : 0,
        now,
        lease.rid,
        lease.token,
        terminal,
      ],
    );
    if (r.rows[0]?.n !== 1) throw new LeaseLost(lease.runId);
  }

  // ---- journal ----

  async readJournal(rid: number): Promise<JournalEntry[]> {
    const r = await this.q<JournalRow>("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = $1 ORDER BY seq", [rid]);
    try {
      return checkJournal(`#${rid}`, this.location, r.rows);
    } catch (err) {
      const id = (await this.q<{ id: string }>("SELECT id FROM runs WHERE rid = $1", [rid])).rows[0]?.id;
      throw id === undefined ? err : new CorruptJournal((err as Error).message.replace(`run #${rid}:`, `run ${id}:`));
    }
  }

  async appendJournal(lease: Lease, entries: readonly JournalEntry[], logs: readonly LogRecord[]): Promise<void> {
    if (entries.length === 0 && logs.length === 0) return;
    // One statement, so one round trip and its own transaction: the fence locks the run's row only
    // if the token still matches, and both inserts take their rows from the fence, so a stale lease
    // inserts nothing. (A claim holding the row is waited for, then the token is re-checked.)
    const r = await this.q<{ fenced: number }>(
      `WITH fence AS (SELECT rid FROM runs WHERE rid = $1 AND lease_token = $2 FOR UPDATE),
       e AS (
         INSERT INTO journal (rid, seq, op, digest, state, payload, sum)
         SELECT f.rid, u.seq, u.op, u.digest, u.state, u.payload, u.sum
         FROM fence f, unnest($3::int[], $4::int[], $5::bigint[], $6::smallint[], $7::bytea[], $8::bigint[]) AS u(seq, op, digest, state, payload, sum)
         ON CONFLICT (rid, seq) DO UPDATE SET op = EXCLUDED.op, digest = EXCLUDED.digest, state = EXCLUDED.state,
           payload = EXCLUDED.payload, sum = EXCLUDED.sum
         RETURNING 1),
       l AS (
         INSERT INTO logs (rid, seq, stream, level, message, at)
         SELECT f.rid, u.seq, u.stream, u.level, u.message, u.at
         FROM fence f, unnest($9::int[], $10::text[], $11::text[], $12::text[], $13::bigint[]) AS u(seq, stream, level, message, at)
         ON CONFLICT (rid, seq) DO UPDATE SET stream = EXCLUDED.stream, level = EXCLUDED.level, message = EXCLUDED.message, at = EXCLUDED.at
         RETURNING 1)
       SELECT (SELECT COUNT(*) FROM fence)::int AS fenced`,
      [
        lease.rid,
        lease.token,
        entries.map((e) => e.seq),
        entries.map((e) => e.op),
        entries.map((e) => e.digest),
        entries.map((e) => e.state),
        entries.map((e) => buf(e.payload)),
        entries.map((e) => entryChecksum(e.seq, e.op, e.digest, e.state, e.payload)),
        logs.map((l) => l.seq),
        logs.map((l) => l.stream),
        logs.map((l) => l.level),
        logs.map((l) => l.message),
        logs.map((l) => l.at),
      ],
      true, // writing the same rows again under the same token changes nothing
    );
    if (r.rows[0]?.fenced !== 1) throw new LeaseLost(lease.runId);
  }

  /** Locks the run's row and checks the lease's fencing token (same transaction as the write). */
  private async fence(c: Db, lease: Lease): Promise<void> {
    const r = await c.query<{ lease_token: number }>("SELECT lease_token FROM runs WHERE rid = $1 FOR UPDATE", [lease.rid]);
    if (r.rows[0]?.lease_token !== lease.token) throw new LeaseLost(lease.runId);
  }

  async summarizeJournal(rid: number): Promise<JournalSummary> {
    const r = await this.q<{ op: number; n: number; intents: number; bytes: number }>(
      `SELECT op, COUNT(*)::bigint AS n, COUNT(*) FILTER (WHERE state = 0)::bigint AS intents,
       COALESCE(SUM(length(payload)), 0)::bigint AS bytes FROM journal WHERE rid = $1 GROUP BY op`,
      [rid],
    );
    const s: JournalSummary = { entries: 0, intents: 0, byOp: {}, bytes: 0 };
    for (const row of r.rows) {
      s.entries += row.n;
      s.intents += row.intents;
      s.bytes += row.bytes;
      s.byOp[opName(row.op)] = row.n;
    }
    return s;
  }

  async readLogs(rid: number): Promise<LogRecord[]> {
    return (await this.q<LogRecord>("SELECT seq, stream, level, message, at FROM logs WHERE rid = $1 ORDER BY seq", [rid])).rows;
  }

  // ---- workers ----

  async claimRuns(owner: string, limit: number, ttlMs: number, now: number): Promise<ClaimedRun[]> {
    if (limit <= 0) return [];
    return this.tx(async (c) => {
      // Rows locked by another worker's claim (or a journal write) are skipped, not waited for.
      const rows = (
        await c.query<{ rid: number; id: string; status: RunStatus; wake_at: number | null; cancel_requested: number; config: Buffer }>(
          `SELECT rid, id, status, wake_at, cancel_requested, config FROM runs WHERE ${CLAIMABLE}
           ORDER BY COALESCE(wake_at, created_at), rid LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [now, limit],
        )
      ).rows;
      const out: ClaimedRun[] = [];
      const take = rows.filter((r) => !r.cancel_requested);
      for (const r of rows) if (r.cancel_requested) await cancelRow(c, r.rid, now);
      if (take.length === 0) return out;
      const expiresAt = now + ttlMs;
      const tokens = new Map(
        (
          await c.query<{ rid: number; lease_token: number }>(
            `UPDATE runs SET lease_owner = $1, lease_expires = $2, lease_token = lease_token + 1, status = 'running',
             attempts = attempts + 1, wake_requested = 0, updated_at = $3 WHERE rid = ANY($4::bigint[]) RETURNING rid, lease_token`,
            [owner, expiresAt, now, take.map((r) => r.rid)],
          )
        ).rows.map((r) => [r.rid, r.lease_token]),
      );
      for (const r of take) {
        const config = unpack(r.config) as RunConfig;
        out.push({
          lease: { runId: r.id, rid: r.rid, owner, token: tokens.get(r.rid)!, expiresAt },
          previous: r.status,
          wakeAt: r.wake_at,
          timeoutMs: config.timeoutMs,
        });
      }
      return out;
    }, true);
  }

  async renewLeases(leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]> {
    if (leases.length === 0) return [];
    const expiresAt = Date.now() + ttlMs;
    const r = await this.q<{ rid: number; lease_token: number; cancel_requested: number }>(
      `UPDATE runs r SET lease_expires = $1 FROM unnest($2::bigint[], $3::bigint[]) AS l(rid, token)
       WHERE r.rid = l.rid AND r.lease_token = l.token RETURNING r.rid, r.lease_token, r.cancel_requested`,
      [expiresAt, leases.map((l) => l.rid), leases.map((l) => l.token)],
      true,
    );
    const held = new Map(r.rows.map((row) => [`${row.rid}:${row.lease_token}`, row.cancel_requested]));
    return leases.map((l) => {
      const flag = held.get(`${l.rid}:${l.token}`);
      if (flag !== undefined) l.expiresAt = expiresAt;
      return { runId: l.runId, held: flag !== undefined, cancelRequested: flag === 1 };
    });
  }

  async requestCancel(runId: string): Promise<CancelOutcome> {
    return this.tx(async (c) => {
      const family = (
        await c.query<RunRow>(
          `WITH RECURSIVE fam(id) AS (SELECT $1::text UNION SELECT r.id FROM runs r JOIN fam ON r.parent_id = fam.id)
           SELECT * FROM runs WHERE id IN (SELECT id FROM fam) ORDER BY rid FOR UPDATE`,
          [runId],
        )
      ).rows.map(toRecord);
      const root = family.find((r) => r.id === runId);
      if (!root) throw new RunNotFound(runId);
      if (RUN_TRANSITIONS[root.status].length === 0) {
        throw new RunStateError(`run ${runId} is already ${root.status}; only a pending, running or suspended run can be cancelled`);
      }
      const now = Date.now();
      const out: CancelOutcome = { cancelled: [], requested: [] };
      // Parents before children, as the SQLite store reports them.
      for (const r of family) {
        if (RUN_TRANSITIONS[r.status].length === 0) continue;
        const live = r.status === "running" && r.leaseExpiresAt !== null && r.leaseExpiresAt > now;
        if (live) {
          await c.query("UPDATE runs SET cancel_requested = 1, updated_at = $1 WHERE rid = $2", [now, r.rid]);
          out.requested.push(r.id);
        } else {
          await cancelRow(c, r.rid, now);
          out.cancelled.push(r.id);
        }
      }
      return out;
    }, true);
  }

  // ---- signals and children ----

  async sendSignal(runId: string, name: string, data: Uint8Array): Promise<number> {
    return this.tx(async (c) => {
      const row = (await c.query<{ rid: number; status: RunStatus }>("SELECT rid, status FROM runs WHERE id = $1 FOR UPDATE", [runId]))
        .rows[0];
      if (!row) throw new RunNotFound(runId);
      if (RUN_TRANSITIONS[row.status].length === 0) {
        throw new RunStateError(`run ${runId} is ${row.status}; signals can only be sent to a run that has not ended`);
      }
      const id = (
        await c.query<{ id: number }>("INSERT INTO signals (rid, name, data, sent_at) VALUES ($1, $2, $3, $4) RETURNING id", [
          row.rid,
          name,
          buf(data),
          Date.now(),
        ])
      ).rows[0]!.id;
      await c.query("UPDATE runs SET wake_requested = 1 WHERE rid = $1", [row.rid]);
      return id;
    }, true);
  }

  async takeSignal(lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined> {
    return this.tx(async (c) => {
      await this.fence(c, lease);
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
    });
  }

  async listSignals(rid: number): Promise<SignalRecord[]> {
    return (await this.q<SignalRow>("SELECT * FROM signals WHERE rid = $1 ORDER BY id", [rid])).rows.map(toSignal);
  }

  async createChild(lease: Lease, child: NewRun): Promise<RunRecord> {
    return this.tx(async (c) => {
      await this.fence(c, lease);
      const existing = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1", [child.id])).rows[0];
      if (existing) {
        if (existing.parent_id !== lease.runId)
          throw new RunStateError(`run id '${child.id}' is taken by a run that is not a child of ${lease.runId}`);
        return toRecord(existing);
      }
      return toRecord((await c.query<RunRow>(INSERT_RUN, insertRunParams(child, Date.now()))).rows[0]!);
    }, true);
  }

  // ---- schedules ----

  async addSchedule(sc: Omit<ScheduleRecord, "lastTick" | "createdAt">): Promise<void> {
    try {
      await this.q(
        `INSERT INTO schedules (name, cron, module, entry, input, config, next_tick, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [sc.name, sc.cron, sc.module, sc.entry, buf(sc.input), pack(sc.config), sc.nextTick, Date.now()],
      );
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === UNIQUE) {
        throw new RunStateError(`a schedule named '${sc.name}' already exists; remove it first with \`dwe schedule remove ${sc.name}\``);
      }
      throw err;
    }
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.q<ScheduleRow>("SELECT * FROM schedules ORDER BY name")).rows.map(toSchedule);
  }

  async removeSchedule(name: string): Promise<boolean> {
    return (await this.q("DELETE FROM schedules WHERE name = $1", [name])).rowCount === 1;
  }

  async fireSchedule(name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean> {
    return this.tx(async (c) => {
      const moved = await c.query("UPDATE schedules SET next_tick = $1, last_tick = $2 WHERE name = $3 AND next_tick = $4", [
        nextTick,
        tick,
        name,
        tick,
      ]);
      if (moved.rowCount !== 1) return false;
      await c.query(`${INSERT_RUN.replace(" RETURNING *", "")} ON CONFLICT (id) DO NOTHING`, insertRunParams(run, Date.now()));
      return true;
    }, true);
  }

  // ---- export / import (docs/distributed.md) ----

  async exportRun(runId: string): Promise<RunExport> {
    return this.tx(async (c) => {
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const row = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1", [runId])).rows[0];
      if (!row) throw new RunNotFound(runId);
      const mod = (await c.query<{ kind: ModuleKind; bytes: Buffer }>("SELECT kind, bytes FROM modules WHERE sha256 = $1", [row.module]))
        .rows[0];
      if (!mod) throw new StoreError(`run ${runId} pins module ${row.module}, which is missing from ${this.location}`);
      const journal = (
        await c.query<JournalRow>("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = $1 ORDER BY seq", [row.rid])
      ).rows;
      const logs = (await c.query<LogRecord>("SELECT seq, stream, level, message, at FROM logs WHERE rid = $1 ORDER BY seq", [row.rid]))
        .rows;
      const signals = (await c.query<SignalRow>("SELECT * FROM signals WHERE rid = $1 ORDER BY id", [row.rid])).rows.map(toSignal);
      const rec = toRecord(row);
      return {
        run: { ...rec, wakeRequested: row.wake_requested === 1, cancelRequested: row.cancel_requested === 1 },
        module: { sha256: row.module, kind: mod.kind, bytes: new Uint8Array(mod.bytes) },
        journal: checkJournal(row.id, this.location, journal),
        logs,
        signals,
      };
    });
  }

  async importRun(bundle: RunExport): Promise<RunRecord> {
    return this.tx(async (c) => {
      const r = bundle.run;
      if ((await c.query("SELECT 1 FROM runs WHERE id = $1", [r.id])).rowCount !== 0) {
        throw new RunStateError(`a run with id '${r.id}' already exists in ${this.location}; nothing was imported`);
      }
      const m = bundle.module;
      await c.query(
        "INSERT INTO modules (sha256, kind, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        [m.sha256, m.kind, m.bytes.length, buf(m.bytes), Date.now()],
      );
      const row = (
        await c.query<RunRow>(
          `INSERT INTO runs (id, module, entry, input, config, status, output, error, created_at, updated_at, finished_at,
           wake_at, attempts, parent_id, lease_owner, lease_expires, lease_token, wake_requested, cancel_requested)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15, $16, $17) RETURNING *`,
          [
            r.id,
            r.module,
            r.entry,
            buf(r.input),
            pack(r.config),
            r.status,
            r.output === null ? null : buf(r.output),
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
          ],
        )
      ).rows[0]!;
      if (bundle.journal.length > 0) await putEntries(c, row.rid, bundle.journal);
      if (bundle.logs.length > 0) await putLogs(c, row.rid, bundle.logs);
      for (const s of bundle.signals) {
        await c.query("INSERT INTO signals (rid, name, data, sent_at, consumed_seq) VALUES ($1, $2, $3, $4, $5)", [
          row.rid,
          s.name,
          buf(s.data),
          s.sentAt,
          s.consumedSeq,
        ]);
      }
      return toRecord(row);
    }, true);
  }
}

async function wakeParent(c: Db, rid: number): Promise<void> {
  await c.query("UPDATE runs SET wake_requested = 1 WHERE id = (SELECT parent_id FROM runs WHERE rid = $1)", [rid]);
}

async function cancelRow(c: Db, rid: number, now: number): Promise<void> {
  const error = JSON.stringify({ code: "cancelled", message: "the run was cancelled (dwe cancel)" });
  await c.query(
    `UPDATE runs SET status = 'cancelled', error = $1, finished_at = $2, updated_at = $2, lease_owner = NULL,
     lease_expires = NULL, lease_token = lease_token + 1, cancel_requested = 1 WHERE rid = $3`,
    [error, now, rid],
  );
  await wakeParent(c, rid);
}

/** Inserts (or completes intents of) journal rows in one statement. */
async function putEntries(c: Db, rid: number, entries: readonly JournalEntry[]): Promise<void> {
  await c.query(
    `INSERT INTO journal (rid, seq, op, digest, state, payload, sum)
     SELECT $1, * FROM unnest($2::int[], $3::int[], $4::bigint[], $5::smallint[], $6::bytea[], $7::bigint[])
     ON CONFLICT (rid, seq) DO UPDATE SET op = EXCLUDED.op, digest = EXCLUDED.digest, state = EXCLUDED.state,
       payload = EXCLUDED.payload, sum = EXCLUDED.sum`,
    [
      rid,
      entries.map((e) => e.seq),
      entries.map((e) => e.op),
      entries.map((e) => e.digest),
      entries.map((e) => e.state),
      entries.map((e) => buf(e.payload)),
      entries.map((e) => entryChecksum(e.seq, e.op, e.digest, e.state, e.payload)),
    ],
  );
}

async function putLogs(c: Db, rid: number, logs: readonly LogRecord[]): Promise<void> {
  await c.query(
    `INSERT INTO logs (rid, seq, stream, level, message, at)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[])
     ON CONFLICT (rid, seq) DO UPDATE SET stream = EXCLUDED.stream, level = EXCLUDED.level, message = EXCLUDED.message, at = EXCLUDED.at`,
    [rid, logs.map((l) => l.seq), logs.map((l) => l.stream), logs.map((l) => l.level), logs.map((l) => l.message), logs.map((l) => l.at)],
  );
}

type JournalRow = { seq: number; op: number; digest: number; state: number; payload: Buffer; sum: number };

/** Checks order and checksums; `name` is the run's id (or #rid) for messages. */
function checkJournal(name: string, location: string, rows: JournalRow[]): JournalEntry[] {
  const out: JournalEntry[] = new Array<JournalEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const { seq, op, digest, state, payload, sum } = rows[i]!;
    if (seq !== i + 1) {
      throw new CorruptJournal(
        `run ${name}: the journal has a gap (expected seq ${i + 1}, found seq ${seq}): the database ${location} was damaged; ` +
          `nothing was run or changed. Restore the database from a backup`,
      );
    }
    if (entryChecksum(seq, op, digest, state, payload) !== sum) {
      throw new CorruptJournal(
        `run ${name}: journal entry seq ${seq} (${opName(op)}) fails its checksum: the database ${location} was damaged; ` +
          `nothing was run or changed. Restore the database from a backup`,
      );
    }
    out[i] = { seq, op, digest, state: state as EntryState, payload };
  }
  return out;
}

/** dwe's own errors pass through; anything from the driver becomes a StoreError naming the database. */
function wrap(err: unknown, location: string): unknown {
  if (err instanceof DweError) return err;
  const e = err as Error & { code?: string };
  return new StoreError(`PostgreSQL store ${location}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ""}`, { cause: err });
}
