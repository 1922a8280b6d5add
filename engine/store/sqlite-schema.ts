import type Database from "better-sqlite3";
import { StoreError } from "../kernel/errors.js";

/**
 * Ordered migrations. The database records how many have run in `dwe_meta.schema_version`;
 * a database with a higher number than this list is from a newer dwe and is refused.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: modules, runs, journal, logs
  `
  CREATE TABLE modules (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE module_artifacts (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sha256, kind)
  ) WITHOUT ROWID;
  CREATE TABLE runs (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    module TEXT NOT NULL REFERENCES modules(sha256),
    entry TEXT NOT NULL,
    input BLOB NOT NULL,
    config BLOB NOT NULL,
    status TEXT NOT NULL,
    output BLOB,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    wake_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT,
    lease_owner TEXT,
    lease_expires INTEGER,
    lease_token INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX runs_by_status ON runs(status, wake_at);
  CREATE INDEX runs_by_created ON runs(created_at);
  CREATE INDEX runs_by_parent ON runs(parent_id);
  CREATE TABLE journal (
    rid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    op INTEGER NOT NULL,
    digest INTEGER NOT NULL,
    state INTEGER NOT NULL,
    payload BLOB NOT NULL,
    sum INTEGER NOT NULL,
    PRIMARY KEY (rid, seq)
  ) WITHOUT ROWID;
  CREATE TABLE logs (
    rid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    stream TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (rid, seq)
  ) WITHOUT ROWID;
  `,
  // 2: workers (wake/cancel flags on runs), signals, schedules (docs/worker.md)
  `
  ALTER TABLE runs ADD COLUMN wake_requested INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX runs_by_lease ON runs(status, lease_expires);
  CREATE TABLE signals (
    id INTEGER PRIMARY KEY,
    rid INTEGER NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    sent_at INTEGER NOT NULL,
    consumed_seq INTEGER
  );
  CREATE INDEX signals_by_run ON signals(rid, name, consumed_seq, id);
  CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    module TEXT NOT NULL REFERENCES modules(sha256),
    entry TEXT NOT NULL,
    input BLOB NOT NULL,
    config BLOB NOT NULL,
    next_tick INTEGER NOT NULL,
    last_tick INTEGER,
    created_at INTEGER NOT NULL
  );
  `,
  // 3: consecutive attempts that crashed outside guest code (poison runs, docs/worker.md)
  `
  ALTER TABLE runs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: PostgreSQL's worker sessions (pg-worker-session.ts); on SQLite a worker's liveness is its pid
  `
  SELECT 1;
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
  ALTER TABLE journal ADD COLUMN started_at INTEGER;
  ALTER TABLE journal ADD COLUMN ended_at INTEGER;
  ALTER TABLE journal ADD COLUMN attempt INTEGER;
  ALTER TABLE journal ADD COLUMN request BLOB;
  CREATE TABLE attempts (
    rid INTEGER NOT NULL,
    number INTEGER NOT NULL,
    owner TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    outcome TEXT,
    error TEXT,
    PRIMARY KEY (rid, number)
  ) WITHOUT ROWID;
  `,
  // 7: retries (`dwe retry`): one row per retry of a failed run, and the journal entries each cut,
  // with their log lines, kept as they were.
  `
  CREATE TABLE retries (
    rid INTEGER NOT NULL,
    number INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_seq INTEGER NOT NULL,
    after_attempt INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (rid, number)
  ) WITHOUT ROWID;
  CREATE TABLE journal_cut (
    rid INTEGER NOT NULL,
    retry INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    op INTEGER NOT NULL,
    digest INTEGER NOT NULL,
    state INTEGER NOT NULL,
    payload BLOB NOT NULL,
    sum INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    attempt INTEGER,
    request BLOB,
    log_stream TEXT,
    log_level TEXT,
    log_message TEXT,
    log_at INTEGER,
    PRIMARY KEY (rid, retry, seq)
  ) WITHOUT ROWID;
  `,
  // 8: upgrades (`resume --upgrade`, `retry --upgrade`): one row per change of a run's module, with
  // the module it replaced, so `dwe show` can say a run was upgraded and from what.
  `
  CREATE TABLE upgrades (
    rid INTEGER NOT NULL,
    number INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_module TEXT NOT NULL,
    to_module TEXT NOT NULL,
    attempt INTEGER,
    PRIMARY KEY (rid, number)
  ) WITHOUT ROWID;
  `,
  // 9: claims read only the runs they take (sqlite-statements.ts "claimable"): pending runs in the
  // order they are due, and suspended runs someone asked to wake; without these a claim read and
  // sorted every pending run (85 ms per claim with 100,000 waiting).
  `
  CREATE INDEX runs_by_due ON runs(status, COALESCE(wake_at, created_at), rid);
  CREATE INDEX runs_wake_requested ON runs(rid) WHERE wake_requested = 1;
  `,
];

const APP_ID = "dwe";

/**
 * Checks that `db` is a dwe database (or empty) and brings it to the current schema.
 * Reads only, until it is sure the file is ours: a foreign or newer database is never written.
 */
export function migrate(db: Database.Database, location: string): void {
  let tables: string[];
  try {
    tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
  } catch (err) {
    throw new StoreError(
      `${location} is not a dwe database (${(err as Error).message}); point --db (or DWE_DB) at a dwe database or a new path`,
      { cause: err },
    );
  }
  let version = 0;
  if (tables.length > 0) {
    if (!tables.includes("dwe_meta")) {
      throw new StoreError(
        `${location} is an SQLite database but not a dwe database (no dwe_meta table); point --db (or DWE_DB) at a dwe database or a new path`,
      );
    }
    const meta = new Map(
      (db.prepare("SELECT key, value FROM dwe_meta").all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    if (meta.get("app") !== APP_ID) throw new StoreError(`${location} is not a dwe database (dwe_meta.app is not 'dwe')`);
    version = Number(meta.get("schema_version") ?? "0");
    if (!Number.isInteger(version) || version < 0) throw new StoreError(`${location} has a damaged dwe_meta.schema_version`);
    if (version > SQLITE_MIGRATIONS.length) {
      throw new StoreError(
        `${location} was written by a newer dwe (schema ${version}, this dwe knows ${SQLITE_MIGRATIONS.length}); upgrade dwe to open it`,
      );
    }
  }
  if (version === SQLITE_MIGRATIONS.length) return;
  const apply = db.transaction(() => {
    // Another process may have migrated the database since it was read (several CLIs opening a new
    // database at once): read the version again, now under the write lock.
    let from = version;
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dwe_meta'").get() !== undefined) {
      from = Number(db.prepare("SELECT value FROM dwe_meta WHERE key = 'schema_version'").pluck().get() ?? "0");
    }
    if (from >= SQLITE_MIGRATIONS.length) return;
    if (from === 0) {
      db.exec("CREATE TABLE IF NOT EXISTS dwe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      db.prepare("INSERT OR REPLACE INTO dwe_meta (key, value) VALUES ('app', ?)").run(APP_ID);
    }
    for (let v = from; v < SQLITE_MIGRATIONS.length; v++) db.exec(SQLITE_MIGRATIONS[v]!);
    db.prepare("INSERT OR REPLACE INTO dwe_meta (key, value) VALUES ('schema_version', ?)").run(String(SQLITE_MIGRATIONS.length));
  });
  apply.immediate();
}
