import type pg from "pg";
import { StoreError } from "../kernel/errors.js";

/**
 * Ordered migrations of the PostgreSQL store, mirroring SQLITE_MIGRATIONS one for one (same
 * tables, same columns; integers are BIGINT, blobs BYTEA). `dwe_meta.schema_version` records how
 * many have run; a schema with a higher number is from a newer dwe and is refused.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: modules, runs, journal, logs
  `
  CREATE TABLE modules (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE module_artifacts (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, kind)
  );
  CREATE TABLE runs (
    rid BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    module TEXT NOT NULL REFERENCES modules(sha256),
    entry TEXT NOT NULL,
    input BYTEA NOT NULL,
    config BYTEA NOT NULL,
    status TEXT NOT NULL,
    output BYTEA,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    wake_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT,
    lease_owner TEXT,
    lease_expires BIGINT,
    lease_token BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX runs_by_status ON runs(status, wake_at);
  CREATE INDEX runs_by_created ON runs(created_at);
  CREATE INDEX runs_by_parent ON runs(parent_id);
  CREATE TABLE journal (
    rid BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    op INTEGER NOT NULL,
    digest BIGINT NOT NULL,
    state SMALLINT NOT NULL,
    payload BYTEA NOT NULL,
    sum BIGINT NOT NULL,
    PRIMARY KEY (rid, seq)
  );
  CREATE TABLE logs (
    rid BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    stream TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (rid, seq)
  );
  `,
  // 2: workers (wake/cancel flags on runs), signals, schedules (docs/worker.md)
  `
  ALTER TABLE runs ADD COLUMN wake_requested INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX runs_by_lease ON runs(status, lease_expires);
  CREATE TABLE signals (
    id BIGSERIAL PRIMARY KEY,
    rid BIGINT NOT NULL,
    name TEXT NOT NULL,
    data BYTEA NOT NULL,
    sent_at BIGINT NOT NULL,
    consumed_seq INTEGER
  );
  CREATE INDEX signals_by_run ON signals(rid, name, consumed_seq, id);
  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    module TEXT NOT NULL REFERENCES modules(sha256),
    entry TEXT NOT NULL,
    input BYTEA NOT NULL,
    config BYTEA NOT NULL,
    next_tick BIGINT NOT NULL,
    last_tick BIGINT,
    created_at BIGINT NOT NULL
  );
  `,
  // 3: consecutive attempts that crashed outside guest code (poison runs, docs/worker.md)
  `
  ALTER TABLE runs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: workers whose liveness is a database session (pg-worker-session.ts, docs/worker.md)
  `
  CREATE TABLE workers (
    id BIGSERIAL PRIMARY KEY,
    owner TEXT NOT NULL UNIQUE,
    started_at BIGINT NOT NULL
  );
  `,
  // 5: a run's name (its module's file name or --name, for `dwe runs`); a schedule's time zone and pause
  `
  ALTER TABLE runs ADD COLUMN name TEXT;
  CREATE INDEX runs_by_name ON runs(name, created_at);
  ALTER TABLE schedules ADD COLUMN tz TEXT;
  ALTER TABLE schedules ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: the journal with time and attempts (`dwe journal`): when each entry started and ended, which
  // attempt wrote it, the request as the guest sent it; one row per execution attempt of a run.
  // Entries written before have none of these (NULL).
  `
  ALTER TABLE journal ADD COLUMN started_at BIGINT;
  ALTER TABLE journal ADD COLUMN ended_at BIGINT;
  ALTER TABLE journal ADD COLUMN attempt INTEGER;
  ALTER TABLE journal ADD COLUMN request BYTEA;
  CREATE TABLE attempts (
    rid BIGINT NOT NULL,
    number INTEGER NOT NULL,
    owner TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    outcome TEXT,
    error TEXT,
    PRIMARY KEY (rid, number)
  );
  `,
  // 7: retries (`dwe retry`): one row per retry of a failed run, and the journal entries each cut,
  // with their log lines, kept as they were.
  `
  CREATE TABLE retries (
    rid BIGINT NOT NULL,
    number INTEGER NOT NULL,
    at BIGINT NOT NULL,
    from_seq INTEGER NOT NULL,
    after_attempt INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (rid, number)
  );
  CREATE TABLE journal_cut (
    rid BIGINT NOT NULL,
    retry INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    op INTEGER NOT NULL,
    digest BIGINT NOT NULL,
    state SMALLINT NOT NULL,
    payload BYTEA NOT NULL,
    sum BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    attempt INTEGER,
    request BYTEA,
    log_stream TEXT,
    log_level TEXT,
    log_message TEXT,
    log_at BIGINT,
    PRIMARY KEY (rid, retry, seq)
  );
  `,
  // 8: upgrades (`resume --upgrade`, `retry --upgrade`): one row per change of a run's module, with
  // the module it replaced, so `dwe show` can say a run was upgraded and from what.
  `
  CREATE TABLE upgrades (
    rid BIGINT NOT NULL,
    number INTEGER NOT NULL,
    at BIGINT NOT NULL,
    from_module TEXT NOT NULL,
    to_module TEXT NOT NULL,
    attempt INTEGER,
    PRIMARY KEY (rid, number)
  );
  `,
  // 9: claims read only the runs they take (pg-claims.ts claimRuns): pending runs in the order they
  // are due, and suspended runs someone asked to wake.
  `
  CREATE INDEX runs_by_due ON runs(status, (COALESCE(wake_at, created_at)), rid);
  CREATE INDEX runs_wake_requested ON runs(rid) WHERE wake_requested = 1;
  `,
];

const APP_ID = "dwe";
/** Serializes concurrent migrations (many workers starting at once) within one database. */
const MIGRATION_LOCK = 0x64776501;

/** `schema_version` of the dwe schema in the current search_path, or "empty", or a reason it is foreign. */
async function inspect(c: pg.PoolClient, location: string): Promise<number> {
  const tables = (
    await c.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
  ).rows.map((r) => r.table_name);
  if (tables.length === 0) return 0;
  if (!tables.includes("dwe_meta")) {
    throw new StoreError(
      `${location} holds tables that are not dwe's (no dwe_meta table); point --db (or DWE_DB) at a dwe database, an empty database, or use ?schema=NAME`,
    );
  }
  const meta = new Map(
    (await c.query<{ key: string; value: string }>("SELECT key, value FROM dwe_meta")).rows.map((r) => [r.key, r.value]),
  );
  if (meta.get("app") !== APP_ID) throw new StoreError(`${location} is not a dwe database (dwe_meta.app is not 'dwe')`);
  const version = Number(meta.get("schema_version") ?? "0");
  if (!Number.isInteger(version) || version < 0) throw new StoreError(`${location} has a damaged dwe_meta.schema_version`);
  if (version > PG_MIGRATIONS.length) {
    throw new StoreError(
      `${location} was written by a newer dwe (schema ${version}, this dwe knows ${PG_MIGRATIONS.length}); upgrade dwe to open it`,
    );
  }
  return version;
}

/**
 * Checks that the schema is dwe's (or empty) and brings it to the current version, under an
 * advisory lock so that workers starting together migrate once. A foreign or newer schema is never
 * written. `create: false` refuses an empty schema instead of creating the tables.
 */
export async function migratePg(c: pg.PoolClient, location: string, schema: string | null, create: boolean): Promise<void> {
  if (schema !== null) {
    const exists = (await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).rowCount === 1;
    if (!exists && !create)
      throw new StoreError(`no dwe schema at ${location}; start a run with \`dwe run\` first, or pass --db (or DWE_DB)`);
    if (!exists) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  }
  // Read-only look first: an up-to-date schema needs no lock.
  if ((await inspect(c, location)) === PG_MIGRATIONS.length) return;
  await c.query("BEGIN");
  try {
    await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    const version = await inspect(c, location);
    if (version === 0 && !create) {
      throw new StoreError(`no dwe database at ${location}; start a run with \`dwe run\` first, or pass --db (or DWE_DB)`);
    }
    if (version < PG_MIGRATIONS.length) {
      if (version === 0) {
        await c.query("CREATE TABLE IF NOT EXISTS dwe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        await c.query("INSERT INTO dwe_meta (key, value) VALUES ('app', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [
          APP_ID,
        ]);
      }
      for (let v = version; v < PG_MIGRATIONS.length; v++) await c.query(PG_MIGRATIONS[v]!);
      await c.query(
        "INSERT INTO dwe_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [String(PG_MIGRATIONS.length)],
      );
    }
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
