// One store contract, two implementations: every test here runs against SQLite and PostgreSQL.
// SQLite: a fresh file per test. PostgreSQL: a fresh database for this file (dropped in afterAll)
// and a fresh schema in it per test. Skipped on PostgreSQL only when the server is unreachable and
// CI is not set (test/support/postgres.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { CorruptJournal, LeaseLost, RunNotFound, RunStateError, StoreError, UsageError, dispositionOf } from "../engine/kernel/errors.js";
import type { JournalEntry } from "../engine/journal/entry.js";
import { openStoreAt } from "../engine/store/open.js";
import type { Lease, NewRun, RunConfig, Store } from "../engine/store/types.js";
import { workdir } from "./support/cli.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";

interface Backend {
  name: string;
  enabled: () => boolean;
  setup: () => Promise<void>;
  teardown: () => Promise<void>;
  /** A fresh, empty store location (file path or URL). */
  fresh: () => string;
  /** Runs raw SQL against a location (for corrupting rows, faking schemas). */
  raw: (location: string, text: string) => Promise<void>;
  /** Cuts every connection the stores have to the server (PostgreSQL); nothing for SQLite. */
  cut: () => Promise<void>;
  /**
   * How many transactions have committed so far, as the database itself records them: SQLite, the
   * commit frames in the WAL; PostgreSQL, the distinct transactions (xmin) that wrote journal rows.
   */
  commits: (location: string) => Promise<number>;
  /** A trigger that fails the whole transaction writing a journal row with seq 99. */
  failSeq99: string;
}

/** Commit frames in an SQLite WAL (a frame whose "database size after commit" is set), of its current salt. */
function walCommits(db: string): number {
  let wal: Buffer;
  try {
    wal = readFileSync(`${db}-wal`);
  } catch {
    return 0;
  }
  if (wal.length < 32) return 0;
  const page = wal.readUInt32BE(8);
  let n = 0;
  for (let o = 32; o + 24 + page <= wal.length; o += 24 + page) {
    if (wal.readUInt32BE(o + 8) !== wal.readUInt32BE(16) || wal.readUInt32BE(o + 12) !== wal.readUInt32BE(20)) break;
    if (wal.readUInt32BE(o + 4) !== 0) n++;
  }
  return n;
}

const dirs: { cleanup: () => void }[] = [];
const sqlite: Backend = {
  name: "sqlite",
  enabled: () => true,
  setup: () => Promise.resolve(),
  teardown: () => {
    dirs.forEach((d) => d.cleanup());
    return Promise.resolve();
  },
  fresh: () => {
    const w = workdir("dwe-conf-");
    dirs.push(w);
    return w.db;
  },
  raw: (location, text) => {
    const db = new Database(location);
    try {
      db.exec(text);
    } finally {
      db.close();
    }
    return Promise.resolve();
  },
  cut: () => Promise.resolve(),
  commits: (location) => Promise.resolve(walCommits(location)),
  failSeq99: "CREATE TRIGGER fail99 BEFORE INSERT ON journal WHEN NEW.seq = 99 BEGIN SELECT RAISE(ROLLBACK, 'seq 99 refused'); END",
};

const pgEnabled = await pgTestsEnabled("store conformance");
let testDb: TestDatabase | null = null;
let schemaN = 0;
const postgres: Backend = {
  name: "postgres",
  enabled: () => pgEnabled,
  setup: async () => {
    testDb = await createTestDatabase();
  },
  teardown: async () => {
    await testDb?.drop();
  },
  fresh: () => `${testDb!.url}?schema=t${++schemaN}`,
  raw: async (location, text) => {
    const u = new URL(location);
    const schema = u.searchParams.get("schema") ?? undefined;
    u.searchParams.delete("schema");
    if (schema) await sql(u.toString(), `CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await sql(u.toString(), text, [], schema);
  },
  cut: async () => {
    await sql(testDb!.url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dwe'", [
      testDb!.name,
    ]);
  },
  commits: async (location) => {
    const u = new URL(location);
    const schema = u.searchParams.get("schema") ?? undefined;
    u.searchParams.delete("schema");
    const r = await sql(u.toString(), "SELECT COUNT(DISTINCT xmin::text)::int AS n FROM journal", [], schema);
    return (r.rows[0] as { n: number }).n;
  },
  failSeq99: `CREATE FUNCTION fail99() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'seq 99 refused'; END $$;
    CREATE TRIGGER fail99 BEFORE INSERT ON journal FOR EACH ROW WHEN (NEW.seq = 99) EXECUTE FUNCTION fail99()`,
};

const CONFIG: RunConfig = { grants: { dirs: [], net: [], shell: false }, args: [], env: {}, timeoutMs: 5000, maxMemoryBytes: null };
const MOD = "a".repeat(64);
const MOD2 = "b".repeat(64);
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function newRun(id: string, over: Partial<NewRun> = {}): NewRun {
  return { id, module: MOD, entry: "run", input: bytes(`{"id":"${id}"}`), config: CONFIG, parentId: null, status: "pending", ...over };
}

function entry(seq: number, state: 0 | 1 | 2 = 1, payload = `p${seq}`): JournalEntry {
  return { seq, op: 1, digest: (seq * 2654435761) >>> 0, state, payload: bytes(payload) };
}

/** Undoes migration 9 (the indexes claims read by). */
const BEFORE_CLAIM_INDEXES = ["DROP INDEX runs_by_due", "DROP INDEX runs_wake_requested"];

/** Undoes migrations 9 and 8 (upgrades). */
const BEFORE_UPGRADES = [...BEFORE_CLAIM_INDEXES, "DROP TABLE upgrades"];

/** Undoes migrations 8 and 7 (retries and the entries they cut). */
const BEFORE_RETRIES = [...BEFORE_UPGRADES, "DROP TABLE journal_cut", "DROP TABLE retries"];

/** Undoes migrations 7 and 6 (journal times, attempts): with the schema version set back, a database as an older dwe left it. */
const BEFORE_ATTEMPTS = [
  ...BEFORE_RETRIES,
  "ALTER TABLE journal DROP COLUMN started_at",
  "ALTER TABLE journal DROP COLUMN ended_at",
  "ALTER TABLE journal DROP COLUMN attempt",
  "ALTER TABLE journal DROP COLUMN request",
  "DROP TABLE attempts",
];

/** A lease owner on another host: never taken as dead, so only expiry or steal frees its lease. */
const OTHER = "elsewhere.example:4242:abcdef";

describe.each([sqlite, postgres])("store conformance: $name", (backend) => {
  const enabled = backend.enabled();
  const open: Store[] = [];

  beforeAll(async () => {
    if (enabled) await backend.setup();
  });
  afterAll(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    if (enabled) await backend.teardown();
  });

  /** A fresh store with two modules in it; `again()` opens a second connection to the same place. */
  async function fresh(): Promise<{ store: Store; location: string; again: () => Store }> {
    const location = backend.fresh();
    const store = openStoreAt(location, "process");
    open.push(store);
    await store.putModule(MOD, "core", bytes("module-a"));
    await store.putModule(MOD2, "core", bytes("module-b"));
    return {
      store,
      location,
      again: () => {
        const s = openStoreAt(location, "process");
        open.push(s);
        return s;
      },
    };
  }

  const test = enabled ? it : it.skip;

  test("modules and artifacts: put is idempotent, artifacts are replaced", async () => {
    const { store } = await fresh();
    await store.putModule(MOD, "core", bytes("ignored: same hash"));
    expect(text((await store.getModule(MOD))!.bytes)).toBe("module-a");
    expect(await store.getModule("c".repeat(64))).toBeUndefined();
    await store.putArtifact(MOD, "asyncify", bytes("v1"));
    await store.putArtifact(MOD, "asyncify", bytes("v2"));
    expect(text((await store.getArtifact(MOD, "asyncify"))!)).toBe("v2");
    expect(await store.getArtifact(MOD, "other")).toBeUndefined();
  });

  test("runs: create, get, list by status and parent; a duplicate id is refused", async () => {
    const { store } = await fresh();
    const r = await store.createRun(newRun("r1"));
    expect(r).toMatchObject({
      id: "r1",
      module: MOD,
      status: "pending",
      attempts: 0,
      leaseToken: 0,
      parentId: null,
      output: null,
      error: null,
    });
    expect(r.config).toEqual(CONFIG);
    expect(text(r.input)).toBe('{"id":"r1"}');
    await store.createRun(newRun("r2", { status: "suspended" }));
    await store.createRun(newRun("c1", { parentId: "r1" }));
    await expect(store.createRun(newRun("r1"))).rejects.toBeInstanceOf(RunStateError);
    expect((await store.listRuns({})).map((x) => x.id).sort()).toEqual(["c1", "r1", "r2"]);
    expect((await store.listRuns({ status: "suspended" })).map((x) => x.id)).toEqual(["r2"]);
    expect((await store.listRuns({ parentId: "r1" })).map((x) => x.id)).toEqual(["c1"]);
    expect(await store.listRuns({ limit: 2 })).toHaveLength(2);
    expect(await store.getRun("nope")).toBeUndefined();
  });

  test("runs: created under a lease in one step: no claim can take it, it runs under that lease; a taken id changes nothing", async () => {
    const { store, again } = await fresh();
    const lease = await store.createLeasedRun(newRun("held"), OTHER, 60_000);
    expect(lease).toMatchObject({ runId: "held", owner: OTHER, token: 1, attempt: 1 });
    expect(await store.getRun("held")).toMatchObject({ status: "running", leaseOwner: OTHER, leaseToken: 1, attempts: 1 });
    // A worker polling at that moment (another connection) finds nothing to claim.
    expect(await again().claimRuns("w:1", 10, 60_000, Date.now())).toEqual([]);
    await store.appendJournal(lease, [entry(1)], []);
    await store.finishRun(lease, { status: "completed", output: bytes("done") });
    expect(await store.getRun("held")).toMatchObject({ status: "completed", attempts: 1 });
    const rid = (await store.getRun("held"))!.rid;
    expect((await store.listAttempts(rid)).map((a) => [a.number, a.owner, a.outcome])).toEqual([[1, OTHER, "completed"]]);
    // The id is taken: refused, and the run, its journal and its attempts are as they were.
    await expect(store.createLeasedRun(newRun("held"), "w:2", 60_000)).rejects.toBeInstanceOf(RunStateError);
    expect(await store.getRun("held")).toMatchObject({ status: "completed", leaseToken: 1, attempts: 1 });
    expect(await store.readJournal(rid)).toHaveLength(1);
    expect(await store.listAttempts(rid)).toHaveLength(1);
  });

  test("runs: counted by status (a status with none is absent), as the metrics' runs gauge reads them", async () => {
    const { store } = await fresh();
    expect(await store.countRuns()).toEqual({});
    await store.createRun(newRun("p1"));
    await store.createRun(newRun("p2"));
    await store.createRun(newRun("s1", { status: "suspended" }));
    expect(await store.countRuns()).toEqual({ pending: 2, suspended: 1 });
  });

  test("runs: a name is stored (a child's is its parent's); every filter narrows; pages continue after a run", async () => {
    const { store, location } = await fresh();
    await store.createRun(newRun("a", { name: "hello.wasm" }));
    await store.createRun(newRun("b", { name: "other.wasm", module: MOD2, entry: "main", status: "suspended" }));
    await store.createRun(newRun("a/1", { parentId: "a" }));
    await store.createRun(newRun("c"));
    expect((await store.getRun("a"))!.name).toBe("hello.wasm");
    expect((await store.getRun("a/1"))!.name).toBe("hello.wasm");
    expect((await store.getRun("c"))!.name).toBeNull();
    await backend.raw(location, "UPDATE runs SET created_at = 1000, finished_at = 5000 WHERE id = 'a'");
    await backend.raw(location, "UPDATE runs SET created_at = 2000 WHERE id = 'b'");
    await backend.raw(location, "UPDATE runs SET created_at = 3000, finished_at = 6000 WHERE id = 'a/1'");
    await backend.raw(location, "UPDATE runs SET created_at = 4000 WHERE id = 'c'");
    const ids = async (f: Parameters<Store["listRuns"]>[0]) => (await store.listRuns(f)).map((r) => r.id);
    expect(await ids({})).toEqual(["c", "a/1", "b", "a"]);
    expect(await ids({ name: "hello.wasm" })).toEqual(["a/1", "a"]);
    expect(await ids({ module: MOD2.slice(0, 6) })).toEqual(["b"]);
    expect(await ids({ module: MOD })).toEqual(["c", "a/1", "a"]);
    expect(await ids({ entry: "main" })).toEqual(["b"]);
    expect(await ids({ status: ["suspended", "completed"] })).toEqual(["b"]);
    expect(await ids({ status: "pending", name: "hello.wasm" })).toEqual(["a/1", "a"]);
    expect(await ids({ createdAfter: 2000, createdBefore: 4000 })).toEqual(["a/1", "b"]);
    expect(await ids({ finishedAfter: 5500 })).toEqual(["a/1"]);
    expect(await ids({ finishedBefore: 5500 })).toEqual(["a"]);
    expect(await ids({ parentId: "a" })).toEqual(["a/1"]);
    // Pages: newest first, each continuing after the last run of the one before.
    const first = await store.listRuns({ limit: 2 });
    expect(first.map((r) => r.id)).toEqual(["c", "a/1"]);
    const last = first[1]!;
    expect(await ids({ limit: 2, after: { createdAt: last.createdAt, rid: last.rid } })).toEqual(["b", "a"]);
    const b = (await store.getRun("b"))!;
    expect(await ids({ after: { createdAt: b.createdAt, rid: b.rid }, name: "hello.wasm" })).toEqual(["a"]);
  });

  test("leases: acquire bumps the token, a live lease is refused unless stolen, terminal runs are refused", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("r"));
    const a = await store.acquireLease("r", OTHER, 60_000, false);
    expect(a.token).toBe(1);
    expect(await store.getRun("r")).toMatchObject({ status: "running", attempts: 1, leaseOwner: OTHER, leaseToken: 1 });
    await expect(store.acquireLease("r", "me:1:x", 60_000, false)).rejects.toBeInstanceOf(RunStateError);
    const b = await store.acquireLease("r", "me:1:x", 60_000, true);
    expect(b.token).toBe(2);
    expect(await store.renewLease(a, 60_000)).toBe(false);
    expect(await store.renewLease(b, 60_000)).toBe(true);
    await expect(store.finishRun(a, { status: "completed", output: bytes("stale") })).rejects.toBeInstanceOf(LeaseLost);
    await store.finishRun(b, { status: "completed", output: bytes("out") });
    const done = await store.getRun("r");
    expect(done).toMatchObject({ status: "completed", leaseOwner: null, leaseExpiresAt: null });
    expect(text(done!.output)).toBe("out");
    expect(done!.finishedAt).not.toBeNull();
    await expect(store.acquireLease("r", "me:1:x", 60_000, true)).rejects.toBeInstanceOf(RunStateError);
    await expect(store.acquireLease("missing", "me:1:x", 60_000, false)).rejects.toBeInstanceOf(RunNotFound);
  });

  test("finishRun: failed, suspended and released (gives the run back with its attempt undone)", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("f"));
    await store.finishRun(await store.acquireLease("f", "me:1:x", 60_000, false), {
      status: "failed",
      error: { code: "trap", message: "boom" },
    });
    expect(await store.getRun("f")).toMatchObject({ status: "failed", error: { code: "trap", message: "boom" } });
    await store.createRun(newRun("s"));
    await store.finishRun(await store.acquireLease("s", "me:1:x", 60_000, false), { status: "suspended", wakeAt: 12345 });
    expect(await store.getRun("s")).toMatchObject({ status: "suspended", wakeAt: 12345, attempts: 1 });
    await store.finishRun(await store.acquireLease("s", "me:1:x", 60_000, false), {
      status: "released",
      previous: "suspended",
      wakeAt: 12345,
    });
    expect(await store.getRun("s")).toMatchObject({ status: "suspended", wakeAt: 12345, attempts: 1, leaseOwner: null, leaseToken: 2 });
  });

  test("finishRun: a lease ends once; giving back a run whose end was written with the same lease changes nothing", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("once"));
    const lease = await store.acquireLease("once", "me:1:x", 60_000, false);
    await store.finishRun(lease, { status: "completed", output: bytes("done") });
    // A supervisor releasing a run its thread has just completed (the same lease, token unchanged).
    await expect(store.finishRun(lease, { status: "released", previous: "pending", wakeAt: null })).rejects.toThrow(LeaseLost);
    expect(await store.getRun("once")).toMatchObject({ status: "completed", leaseOwner: null });
    expect(text((await store.getRun("once"))!.output)).toBe("done");
  });

  test("journal: append, complete an intent, read back in order with logs; summary", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("j"));
    const lease = await store.acquireLease("j", "me:1:x", 60_000, false);
    const many = Array.from({ length: 300 }, (_, i) => entry(i + 1));
    await store.appendJournal(lease, many.slice(0, 299), [{ seq: 3, stream: "log", level: "info", message: "hello", at: 1000 }]);
    await store.appendJournal(lease, [entry(300, 0, "intent")], []);
    await store.appendJournal(lease, [entry(300, 1, "result")], [{ seq: 300, stream: "stdout", level: "info", message: "done", at: 2000 }]);
    const j = await store.readJournal(run.rid);
    expect(j).toHaveLength(300);
    expect(j.map((e) => e.seq)).toEqual(many.map((e) => e.seq));
    expect(j[299]).toMatchObject({ seq: 300, state: 1, op: 1, digest: entry(300).digest });
    expect(text(j[299]!.payload)).toBe("result");
    expect(text(j[0]!.payload)).toBe("p1");
    expect(await store.readLogs(run.rid)).toEqual([
      { seq: 3, stream: "log", level: "info", message: "hello", at: 1000 },
      { seq: 300, stream: "stdout", level: "info", message: "done", at: 2000 },
    ]);
    const sum = await store.summarizeJournal(run.rid);
    expect(sum.entries).toBe(300);
    expect(sum.intents).toBe(0);
    expect(Object.values(sum.byOp)).toEqual([300]);
    expect(sum.bytes).toBe(many.slice(0, 299).reduce((n, e) => n + e.payload.length, 0) + "result".length);
    await store.appendJournal(lease, [], []);
  });

  test("journal records: times, the attempt that wrote each entry and its request; a completion keeps its intent's start and request", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("t"));
    const first = await store.acquireLease("t", "me:1:x", 60_000, false);
    expect(first.attempt).toBe(1);
    await store.appendJournal(
      first,
      [
        { ...entry(1), startedAt: 1000, endedAt: 1001, request: bytes("req-1") },
        { ...entry(2, 0, "intent"), startedAt: 1002, request: bytes("req-2") },
      ],
      [],
    );
    // Attempt 1 dies with entry 2 in flight; attempt 2 (a takeover) completes it, bringing only its end.
    const second = await store.acquireLease("t", "other:2:y", 60_000, true);
    expect(second.attempt).toBe(2);
    await store.appendJournal(second, [{ ...entry(2, 1, "done"), endedAt: 2000 }], []);
    await store.appendJournal(second, [{ ...entry(3, 2, "refused"), startedAt: 2001, endedAt: 2002 }], []);
    const records = await store.readJournalRecords(run.rid, 1);
    expect(records.map((r) => ({ ...r, payload: text(r.payload), request: text(r.request) }))).toEqual([
      { seq: 1, op: 1, digest: entry(1).digest, state: 1, payload: "p1", startedAt: 1000, endedAt: 1001, attempt: 1, request: "req-1" },
      { seq: 2, op: 1, digest: entry(2).digest, state: 1, payload: "done", startedAt: 1002, endedAt: 2000, attempt: 2, request: "req-2" },
      { seq: 3, op: 1, digest: entry(3).digest, state: 2, payload: "refused", startedAt: 2001, endedAt: 2002, attempt: 2, request: null },
    ]);
    expect((await store.readJournalRecords(run.rid, 3)).map((r) => r.seq)).toEqual([3]);
    expect(await store.readJournalRecords(run.rid, 4)).toEqual([]);
    // readJournal (the replay's read) is unchanged.
    expect((await store.readJournal(run.rid)).map((e) => [e.seq, e.state, text(e.payload)])).toEqual([
      [1, 1, "p1"],
      [2, 1, "done"],
      [3, 2, "refused"],
    ]);
    // Requests count towards the journal's bytes (its --max-journal-bytes).
    expect((await store.summarizeJournal(run.rid)).bytes).toBe(2 + 4 + 7 + 5 + 5);
    await store.finishRun(second, { status: "failed", error: { code: "boom", message: "it broke" } });
    const attempts = await store.listAttempts(run.rid);
    expect(attempts.map((a) => ({ ...a, startedAt: typeof a.startedAt, endedAt: a.endedAt === null ? null : typeof a.endedAt }))).toEqual([
      // Attempt 1 never reached finishRun: no end, no outcome (a crash point).
      { number: 1, owner: "me:1:x", startedAt: "number", endedAt: null, outcome: null, error: null },
      {
        number: 2,
        owner: "other:2:y",
        startedAt: "number",
        endedAt: "number",
        outcome: "failed",
        error: { code: "boom", message: "it broke" },
      },
    ]);
  });

  test("attempts: claims number them per run; each end records its outcome; a stale finish records nothing", async () => {
    const { store } = await fresh();
    const a = await store.createRun(newRun("a"));
    const b = await store.createRun(newRun("b"));
    const claimed = await store.claimRuns("w:1", 5, 60_000, Date.now());
    expect(claimed.map((c) => [c.lease.runId, c.lease.attempt]).sort()).toEqual([
      ["a", 1],
      ["b", 1],
    ]);
    const la = claimed.find((c) => c.lease.runId === "a")!.lease;
    const lb = claimed.find((c) => c.lease.runId === "b")!.lease;
    await store.finishRun(la, { status: "suspended", wakeAt: Date.now() - 1 });
    await store.finishRun(lb, { status: "released", previous: "pending", wakeAt: null, crashed: true });
    const again = await store.claimRuns("w:2", 5, 60_000, Date.now());
    expect(again.map((c) => [c.lease.runId, c.lease.attempt]).sort()).toEqual([
      ["a", 2],
      ["b", 2],
    ]);
    // Each comes with the run as the claim left it: what a fresh read says now.
    for (const c of again) {
      expect(c.run).toEqual(await store.getRun(c.lease.runId));
      expect([c.run.status, c.run.leaseOwner, c.run.leaseToken, c.run.attempts]).toEqual(["running", "w:2", c.lease.token, 2]);
    }
    const a2 = again.find((c) => c.lease.runId === "a")!.lease;
    await store.finishRun(a2, { status: "completed", output: null });
    await expect(store.finishRun({ ...la }, { status: "failed", error: { code: "x", message: "late" } })).rejects.toBeInstanceOf(LeaseLost);
    expect((await store.listAttempts(a.rid)).map((x) => [x.number, x.owner, x.outcome])).toEqual([
      [1, "w:1", "suspended"],
      [2, "w:2", "completed"],
    ]);
    expect((await store.listAttempts(b.rid)).map((x) => [x.number, x.outcome, x.endedAt === null])).toEqual([
      [1, "crashed", false],
      [2, null, true],
    ]);
    // Purged with their run.
    await store.finishRun(again.find((c) => c.lease.runId === "b")!.lease, {
      status: "cancelled",
      error: { code: "cancelled", message: "x" },
    });
    await store.deleteRuns({ statuses: ["completed", "cancelled"] });
    expect(await store.listAttempts(a.rid)).toEqual([]);
    expect(await store.listAttempts(b.rid)).toEqual([]);
  });

  /** Two runs claimed under fresh leases. */
  async function twoLeased(store: Store): Promise<[Lease, Lease]> {
    await store.createRun(newRun("ga"));
    await store.createRun(newRun("gb"));
    const claimed = await store.claimRuns("w:1", 2, 60_000, Date.now());
    const lease = (id: string) => claimed.find((c) => c.lease.runId === id)!.lease;
    return [lease("ga"), lease("gb")];
  }

  test("group commit: the appends of two runs made in the same turn are one commit; a run's writes keep their order", async () => {
    const { store, location } = await fresh();
    const [a, b] = await twoLeased(store);
    const before = await backend.commits(location);
    await Promise.all([store.appendJournal(a, [entry(1)], []), store.appendJournal(b, [entry(1), entry(2)], [])]);
    expect((await backend.commits(location)) - before).toBe(1);
    expect((await store.readJournal(a.rid)).map((e) => text(e.payload))).toEqual(["p1"]);
    expect((await store.readJournal(b.rid)).map((e) => text(e.payload))).toEqual(["p1", "p2"]);
    // One run's writes in one turn, each after the one before: an intent then its result, then the end.
    await Promise.all([
      store.appendJournal(a, [entry(2, 0, "intent")], []),
      store.appendJournal(a, [entry(2, 1, "result")], [{ seq: 2, stream: "log", level: "info", message: "m", at: 1 }]),
      store.finishRun(a, { status: "completed", output: bytes("done") }),
      store.appendJournal(b, [entry(3)], []),
    ]);
    expect((await store.readJournal(a.rid)).map((e) => [e.state, text(e.payload)])).toEqual([
      [1, "p1"],
      [1, "result"],
    ]);
    expect((await store.readLogs(a.rid)).map((l) => l.message)).toEqual(["m"]);
    expect(await store.getRun("ga")).toMatchObject({ status: "completed", leaseOwner: null });
    expect(await store.readJournal(b.rid)).toHaveLength(3);
  });

  test("group commit: a run fenced out gets LeaseLost for its own write only; the others in the batch commit", async () => {
    const { store, again } = await fresh();
    const [a, b] = await twoLeased(store);
    await again().acquireLease("ga", OTHER, 60_000, true); // a's token moves on
    const writes = [
      store.appendJournal(a, [entry(1)], [{ seq: 1, stream: "log", level: "info", message: "late", at: 1 }]),
      store.appendJournal(b, [entry(1)], []),
      store.finishRun(a, { status: "completed", output: bytes("late") }),
      store.finishRun(b, { status: "completed", output: bytes("b") }),
    ];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((x) => x.status)).toEqual(["rejected", "fulfilled", "rejected", "fulfilled"]);
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLost);
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLost);
    expect(await store.readJournal(a.rid)).toEqual([]);
    expect(await store.readLogs(a.rid)).toEqual([]);
    expect(await store.getRun("ga")).toMatchObject({ status: "running", leaseOwner: OTHER });
    expect((await store.readJournal(b.rid)).map((e) => text(e.payload))).toEqual(["p1"]);
    expect(text((await store.getRun("gb"))!.output)).toBe("b");
  });

  test("group commit: a failure of the whole transaction rejects every write of the batch, and none is written", async () => {
    const { store, location } = await fresh();
    const [a, b] = await twoLeased(store);
    await backend.raw(location, backend.failSeq99);
    const settled = await Promise.allSettled([store.appendJournal(a, [entry(1)], []), store.appendJournal(b, [entry(99)], [])]);
    expect(settled.map((x) => x.status)).toEqual(["rejected", "rejected"]);
    for (const x of settled) expect((x as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    expect(await store.readJournal(a.rid)).toEqual([]);
    expect(await store.readJournal(b.rid)).toEqual([]);
    // The store goes on: the next batch commits.
    await store.appendJournal(a, [entry(1)], []);
    expect(await store.readJournal(a.rid)).toHaveLength(1);
  });

  test("fencing: a stale lease writes nothing (journal, logs, module, grants, signals, children, finish)", async () => {
    const { store, again } = await fresh();
    const run = await store.createRun(newRun("x"));
    const old = await store.acquireLease("x", "me:1:x", 1, false);
    await store.appendJournal(old, [entry(1)], []);
    // The old owner "pauses"; a second process takes the run over.
    const other = again();
    const now = await other.acquireLease("x", OTHER, 60_000, true);
    expect(now.token).toBe(old.token + 1);
    await expect(
      store.appendJournal(old, [entry(2, 1, "late")], [{ seq: 2, stream: "log", level: "info", message: "late", at: 1 }]),
    ).rejects.toBeInstanceOf(LeaseLost);
    await expect(store.setRunModule(old, MOD2)).rejects.toBeInstanceOf(LeaseLost);
    await expect(store.setRunGrants(old, { dirs: [], net: ["evil"], shell: null } as never)).rejects.toBeInstanceOf(LeaseLost);
    await expect(store.createChild(old, newRun("x-child", { parentId: "x" }))).rejects.toBeInstanceOf(LeaseLost);
    await store.sendSignal("x", "go", bytes("1"));
    await expect(store.takeSignal(old, "go", 2)).rejects.toBeInstanceOf(LeaseLost);
    await expect(store.finishRun(old, { status: "completed", output: null })).rejects.toBeInstanceOf(LeaseLost);
    expect((await store.readJournal(run.rid)).map((e) => text(e.payload))).toEqual(["p1"]);
    expect(await store.readLogs(run.rid)).toEqual([]);
    expect(await store.getRun("x-child")).toBeUndefined();
    expect((await store.listSignals(run.rid))[0]!.consumedSeq).toBeNull();
    expect(await store.getRun("x")).toMatchObject({ status: "running", module: MOD, leaseOwner: OTHER, leaseToken: now.token });
    // The new owner writes normally.
    await other.appendJournal(now, [entry(2, 1, "new")], []);
    await other.setRunModule(now, MOD2);
    await other.setRunGrants(now, CONFIG.grants);
    expect((await other.readJournal(run.rid)).map((e) => text(e.payload))).toEqual(["p1", "new"]);
    expect((await other.getRun("x"))!.module).toBe(MOD2);
  });

  test("claimRuns: pending, due suspended, woken and orphaned runs are claimed once; future ones are not", async () => {
    const { store } = await fresh();
    const now = Date.now();
    await store.createRun(newRun("pending"));
    await store.createRun(newRun("due"));
    await store.finishRun(await store.acquireLease("due", "me:1:x", 60_000, false), { status: "suspended", wakeAt: now - 1 });
    await store.createRun(newRun("later"));
    await store.finishRun(await store.acquireLease("later", "me:1:x", 60_000, false), { status: "suspended", wakeAt: now + 3_600_000 });
    await store.createRun(newRun("orphan"));
    await store.acquireLease("orphan", OTHER, 1, false);
    await store.createRun(newRun("held"));
    await store.acquireLease("held", OTHER, 3_600_000, false);
    await store.createRun(newRun("done"));
    await store.finishRun(await store.acquireLease("done", "me:1:x", 60_000, false), { status: "completed", output: null });

    // Claims look at the world as of `now + 60 s`: the orphan's 1 ms lease has expired by then.
    const claimed = await store.claimRuns("w1", 10, 60_000, now + 60_000);
    const byId = new Map(claimed.map((c) => [c.lease.runId, c]));
    expect([...byId.keys()].sort()).toEqual(["due", "orphan", "pending"]);
    expect(byId.get("pending")).toMatchObject({ previous: "pending", wakeAt: null, timeoutMs: 5000 });
    expect(byId.get("due")).toMatchObject({ previous: "suspended", wakeAt: now - 1 });
    expect(byId.get("orphan")!.previous).toBe("running");
    expect(byId.get("orphan")!.lease.token).toBe(2);
    for (const c of claimed)
      expect(await store.getRun(c.lease.runId)).toMatchObject({ status: "running", leaseOwner: "w1", leaseToken: c.lease.token });
    expect(await store.claimRuns("w2", 10, 60_000, now + 60_000)).toEqual([]);

    // A signal wakes a suspended run before its time.
    await store.sendSignal("later", "poke", bytes(""));
    expect((await store.claimRuns("w2", 10, 60_000, now + 60_000)).map((c) => c.lease.runId)).toEqual(["later"]);
    expect(await store.claimRuns("w2", 0, 60_000, now)).toEqual([]);
  });

  test("claimRuns: the oldest due first whatever made each claimable, at most the limit", async () => {
    const { store } = await fresh();
    const now = Date.now();
    for (let i = 0; i < 10; i++) await store.createRun(newRun(`p${i}`));
    await store.createRun(newRun("early"));
    await store.finishRun(await store.acquireLease("early", "me:1:x", 60_000, false), { status: "suspended", wakeAt: now - 10_000 });
    await store.createRun(newRun("poked"));
    await store.finishRun(await store.acquireLease("poked", "me:1:x", 60_000, false), { status: "suspended", wakeAt: now + 3_600_000 });
    await store.sendSignal("poked", "poke", bytes(""));
    // Due: "early" at its wake time, the pending runs when they were created, "poked" at its (future) wake time.
    expect((await store.claimRuns("w", 3, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual(["early", "p0", "p1"]);
    expect((await store.claimRuns("w", 20, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `p${i + 2}`),
      "poked",
    ]);
  });

  test("schema: a database from before the claim indexes (schema 8) is brought forward; claims take its runs in order", async () => {
    const { store, location } = await fresh();
    for (const id of ["o1", "o2", "o3"]) await store.createRun(newRun(id));
    await store.close();
    for (const stmt of [...BEFORE_CLAIM_INDEXES, "UPDATE dwe_meta SET value = '8' WHERE key = 'schema_version'"]) {
      await backend.raw(location, stmt);
    }
    const again = openStoreAt(location, "process");
    open.push(again);
    expect((await again.claimRuns("w", 2, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual(["o1", "o2"]);
    expect((await again.claimRuns("w", 2, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual(["o3"]);
  });

  test("claimRuns: concurrent claimers on separate connections never share a run", async () => {
    const { store, again } = await fresh();
    for (let i = 0; i < 40; i++) await store.createRun(newRun(`c${i}`));
    const workers = [store, again(), again(), again()];
    const got: string[] = [];
    for (let round = 0; round < 6; round++) {
      const batches = await Promise.all(workers.map((w, i) => w.claimRuns(`w${i}`, 3, 60_000, Date.now())));
      for (const b of batches) got.push(...b.map((c) => c.lease.runId));
    }
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBeGreaterThan(0);
    const rest = await store.claimRuns("last", 100, 60_000, Date.now());
    expect([...got, ...rest.map((c) => c.lease.runId)].sort()).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`).sort());
  });

  test("renewLeases: reports lost leases and cancel requests; requestCancel cancels idle runs and asks live ones", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("live"));
    await store.createRun(newRun("idle"));
    await store.createRun(newRun("kid", { parentId: "live" }));
    await store.createRun(newRun("grandkid", { parentId: "kid" }));
    const [live] = await store.claimRuns("w", 1, 60_000, Date.now());
    expect(live!.lease.runId).toBe("live");
    const stale: Lease = { ...live!.lease, token: live!.lease.token - 1 };
    let checks = await store.renewLeases([live!.lease, stale], 60_000);
    expect(checks).toEqual([
      { runId: "live", held: true, cancelRequested: false },
      { runId: "live", held: false, cancelRequested: false },
    ]);
    const out = await store.requestCancel("live");
    expect(out.requested).toEqual(["live"]);
    expect(out.cancelled.sort()).toEqual(["grandkid", "kid"]);
    checks = await store.renewLeases([live!.lease], 60_000);
    expect(checks[0]).toEqual({ runId: "live", held: true, cancelRequested: true });
    expect(await store.getRun("kid")).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
    expect((await store.requestCancel("idle")).cancelled).toEqual(["idle"]);
    await expect(store.requestCancel("idle")).rejects.toBeInstanceOf(RunStateError);
    await expect(store.requestCancel("missing")).rejects.toBeInstanceOf(RunNotFound);
    // A run with a cancel request whose lease expired is cancelled by the next claim, not run.
    await store.createRun(newRun("ask"));
    await store.acquireLease("ask", OTHER, 60_000, false);
    expect((await store.requestCancel("ask")).requested).toEqual(["ask"]);
    expect(await store.claimRuns("w", 10, 60_000, Date.now() + 120_000)).toEqual([]);
    expect((await store.getRun("ask"))!.status).toBe("cancelled");
  });

  test("terminate: ends a run and its descendants now, held or not, fences the holder, ends its attempt, wakes the parent; refuses a final run", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("top"));
    await store.createRun(newRun("held", { parentId: "top" }));
    await store.createRun(newRun("done", { parentId: "top" }));
    await store.createRun(newRun("deep", { parentId: "held" }));
    await store.finishRun(await store.acquireLease("done", OTHER, 60_000, false), { status: "completed", output: bytes("ok") });
    const lease = await store.acquireLease("held", OTHER, 60_000, false);
    await store.appendJournal(lease, [entry(1), entry(2)], []);
    const heldRid = (await store.getRun("held"))!.rid;

    expect(await store.terminate("top")).toEqual({ terminated: ["top", "held", "deep"] });
    for (const id of ["top", "held", "deep"]) {
      const r = (await store.getRun(id))!;
      expect(r).toMatchObject({ status: "cancelled", error: { code: "terminated" }, leaseOwner: null });
      expect(r.finishedAt).not.toBeNull();
    }
    expect((await store.getRun("done"))!.status).toBe("completed");
    // The holder's writes are fenced; its renewal says the lease is lost; its journal is kept as written.
    await expect(store.appendJournal(lease, [entry(3)], [])).rejects.toBeInstanceOf(LeaseLost);
    await expect(store.finishRun(lease, { status: "completed", output: bytes("late") })).rejects.toBeInstanceOf(LeaseLost);
    expect((await store.renewLeases([lease], 60_000))[0]).toMatchObject({ held: false });
    expect((await store.readJournal(heldRid)).map((e) => e.seq)).toEqual([1, 2]);
    expect(await store.listAttempts(heldRid)).toEqual([
      expect.objectContaining({ owner: OTHER, outcome: "terminated", error: expect.objectContaining({ code: "terminated" }) as unknown }),
    ]);
    expect((await store.listAttempts(heldRid))[0]!.endedAt).not.toBeNull();
    // Nothing claims a terminated run again.
    expect(await store.claimRuns("w", 10, 60_000, Date.now() + 120_000)).toEqual([]);

    // A child terminated alone wakes its waiting parent, as a child that finished does.
    await store.createRun(newRun("waiting"));
    await store.createRun(newRun("kid", { parentId: "waiting" }));
    await store.finishRun(await store.acquireLease("waiting", OTHER, 60_000, false), { status: "suspended", wakeAt: null });
    expect(await store.terminate("kid")).toEqual({ terminated: ["kid"] });
    expect((await store.claimRuns("w", 10, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual(["waiting"]);

    await expect(store.terminate("top")).rejects.toBeInstanceOf(RunStateError);
    await expect(store.terminate("done")).rejects.toThrow(/already completed/);
    await expect(store.terminate("missing")).rejects.toBeInstanceOf(RunNotFound);
  });

  test("signals: kept until consumed, oldest first, the same one again for the same seq, refused for ended runs", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("s"));
    const id1 = await store.sendSignal("s", "go", bytes("one"));
    const id2 = await store.sendSignal("s", "go", bytes("two"));
    await store.sendSignal("s", "other", bytes("x"));
    expect(id2).toBeGreaterThan(id1);
    const lease = await store.acquireLease("s", "me:1:x", 60_000, false);
    const a = await store.takeSignal(lease, "go", 5);
    expect(a).toMatchObject({ id: id1, name: "go", consumedSeq: 5 });
    expect(text(a!.data)).toBe("one");
    expect(await store.takeSignal(lease, "go", 5)).toMatchObject({ id: id1, consumedSeq: 5 });
    expect(await store.takeSignal(lease, "go", 7)).toMatchObject({ id: id2, consumedSeq: 7 });
    expect(await store.takeSignal(lease, "go", 9)).toBeUndefined();
    const all = await store.listSignals(run.rid);
    expect(all.map((s) => [s.name, s.consumedSeq])).toEqual([
      ["go", 5],
      ["go", 7],
      ["other", null],
    ]);
    expect(all[0]!.sentAt).toBeGreaterThan(0);
    await store.finishRun(lease, { status: "completed", output: null });
    await expect(store.sendSignal("s", "go", bytes(""))).rejects.toBeInstanceOf(RunStateError);
    await expect(store.sendSignal("missing", "go", bytes(""))).rejects.toBeInstanceOf(RunNotFound);
  });

  test("children: created once per id, fenced, and a finished child wakes its parent", async () => {
    const { store } = await fresh();
    await store.createRun(newRun("p"));
    const lease = await store.acquireLease("p", "me:1:x", 60_000, false);
    const c1 = await store.createChild(lease, newRun("p/1", { parentId: "p", input: bytes("first") }));
    const again = await store.createChild(lease, newRun("p/1", { parentId: "p", input: bytes("second") }));
    expect(again.rid).toBe(c1.rid);
    expect(text(again.input)).toBe("first");
    await store.createRun(newRun("stranger"));
    await expect(store.createChild(lease, newRun("stranger", { parentId: "p" }))).rejects.toBeInstanceOf(RunStateError);
    await store.finishRun(lease, { status: "suspended", wakeAt: null });
    // The parent waits (no wake time) until its child ends.
    expect((await store.claimRuns("w", 10, 60_000, Date.now())).map((c) => c.lease.runId).sort()).toEqual(["p/1", "stranger"]);
    const child = (await store.listRuns({ parentId: "p" }))[0]!;
    const childLease: Lease = { runId: child.id, rid: child.rid, owner: "w", token: child.leaseToken, expiresAt: 0, attempt: 1 };
    await store.finishRun(childLease, { status: "completed", output: bytes("42") });
    const woken = await store.claimRuns("w", 10, 60_000, Date.now());
    expect(woken.map((c) => c.lease.runId)).toEqual(["p"]);
    expect(woken[0]!.previous).toBe("suspended");
  });

  test("schedules: add, list, remove; a tick fires once when two workers race for it", async () => {
    const { store, again } = await fresh();
    await store.addSchedule({
      name: "nightly",
      cron: "0 3 * * *",
      module: MOD,
      entry: "run",
      input: bytes("{}"),
      config: CONFIG,
      nextTick: 1000,
    });
    await expect(
      store.addSchedule({ name: "nightly", cron: "* * * * *", module: MOD, entry: "run", input: bytes("{}"), config: CONFIG, nextTick: 1 }),
    ).rejects.toBeInstanceOf(RunStateError);
    const [s] = await store.listSchedules();
    expect(s).toMatchObject({ name: "nightly", cron: "0 3 * * *", tz: null, paused: false, module: MOD, nextTick: 1000, lastTick: null });
    expect(s!.config).toEqual(CONFIG);
    const other = again();
    const results = await Promise.all([
      store.fireSchedule("nightly", 1000, 2000, newRun("nightly@1000")),
      other.fireSchedule("nightly", 1000, 2000, newRun("nightly@1000")),
      other.fireSchedule("nightly", 1000, 2000, newRun("nightly@1000")),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.listSchedules())[0]).toMatchObject({ nextTick: 2000, lastTick: 1000 });
    expect((await store.listRuns({})).map((r) => r.id)).toEqual(["nightly@1000"]);
    expect(await store.fireSchedule("nightly", 1000, 3000, newRun("nightly@1000b"))).toBe(false);
    expect(await store.removeSchedule("nightly")).toBe(true);
    expect(await store.removeSchedule("nightly")).toBe(false);
    expect(await store.listSchedules()).toEqual([]);
  });

  test("schedules: a time zone is kept; update changes what it is given; a paused schedule fires no tick", async () => {
    const { store } = await fresh();
    const sc = { name: "s", cron: "0 9 * * *", module: MOD, entry: "run", input: bytes("{}"), config: CONFIG, nextTick: 1000 };
    await store.addSchedule({ ...sc, tz: "Europe/Paris" });
    expect((await store.listSchedules())[0]).toMatchObject({ tz: "Europe/Paris", paused: false });
    expect(await store.updateSchedule("s", { paused: true })).toBe(true);
    expect(await store.fireSchedule("s", 1000, 2000, newRun("s.1000"))).toBe(false);
    expect(await store.listRuns({})).toEqual([]);
    expect(await store.updateSchedule("s", { paused: false, nextTick: 3000, cron: "*/5 * * * *", tz: null, input: bytes("[1]") })).toBe(
      true,
    );
    const [s] = await store.listSchedules();
    expect(s).toMatchObject({ cron: "*/5 * * * *", tz: null, paused: false, nextTick: 3000, lastTick: null });
    expect(text(s!.input)).toBe("[1]");
    expect(await store.fireSchedule("s", 3000, 4000, newRun("s.3000"))).toBe(true);
    expect(await store.updateSchedule("missing", { paused: true })).toBe(false);
    expect(await store.updateSchedule("s", {})).toBe(true);
    expect(await store.updateSchedule("missing", {})).toBe(false);
  });

  test("export and import: the run, module, journal, logs and signals arrive; a second import is refused", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("e", { input: bytes("in") }));
    const lease = await store.acquireLease("e", "me:1:x", 60_000, false);
    await store.appendJournal(lease, [entry(1), entry(2, 0, "intent")], [{ seq: 1, stream: "log", level: "info", message: "hi", at: 5 }]);
    await store.sendSignal("e", "go", bytes("sig"));
    await store.takeSignal(lease, "go", 2);
    await store.sendSignal("e", "go", bytes("later"));
    await store.finishRun(lease, { status: "suspended", wakeAt: 99 });
    const bundle = await store.exportRun("e");
    expect(bundle.run).toMatchObject({ id: "e", status: "suspended", wakeAt: 99, attempts: 1, wakeRequested: true });
    expect(text(bundle.module.bytes)).toBe("module-a");
    await expect(store.exportRun("missing")).rejects.toBeInstanceOf(RunNotFound);

    const { store: target } = await fresh();
    const imported = await target.importRun(bundle);
    expect(imported).toMatchObject({ id: "e", status: "suspended", wakeAt: 99, leaseOwner: null, leaseExpiresAt: null, module: MOD });
    expect(text(imported.input)).toBe("in");
    expect((await target.readJournal(imported.rid)).map((e) => [e.seq, e.state, text(e.payload)])).toEqual(
      (await store.readJournal(run.rid)).map((e) => [e.seq, e.state, text(e.payload)]),
    );
    expect(await target.readLogs(imported.rid)).toEqual(await store.readLogs(run.rid));
    expect((await target.listSignals(imported.rid)).map((s) => [s.name, text(s.data), s.consumedSeq])).toEqual([
      ["go", "sig", 2],
      ["go", "later", null],
    ]);
    await expect(target.importRun(bundle)).rejects.toBeInstanceOf(RunStateError);
    expect(await target.listRuns({})).toHaveLength(1);
    // The imported run is claimable there (its wake request travelled with it).
    expect((await target.claimRuns("w", 5, 60_000, 0)).map((c) => c.lease.runId)).toEqual(["e"]);
  });

  test("a long journal reads back exact and in order (chunked reads): zero bytes, empty and large payloads; a bad row far in names its seq", async () => {
    const { store, location } = await fresh();
    const run = await store.createRun(newRun("long"));
    const lease = await store.acquireLease("long", "me:1:x", 60_000, false);
    const n = 10_000;
    const big = (seq: number) => new Uint8Array(7 * 1024 * 1024).fill(seq & 0xff);
    const payloadOf = (seq: number): Uint8Array =>
      seq % 1000 === 0 ? new Uint8Array(0) : seq >= 10 && seq <= 12 ? big(seq) : Uint8Array.of(0, seq & 0xff, 0, seq >> 8, 0);
    const entries: JournalEntry[] = [];
    for (let seq = 1; seq <= n; seq++) entries.push({ ...entry(seq, seq % 7 === 0 ? 2 : 1), payload: payloadOf(seq) });
    for (let i = 0; i < n; i += 2_500) await store.appendJournal(lease, entries.slice(i, i + 2_500), []);
    const read = await store.readJournal(run.rid);
    expect(read.map((e) => e.seq)).toEqual(entries.map((e) => e.seq));
    for (let i = 0; i < n; i++) {
      const [a, b] = [read[i]!, entries[i]!];
      if (a.op !== b.op || a.digest !== b.digest || a.state !== b.state || Buffer.compare(a.payload, b.payload) !== 0) {
        throw new Error(`seq ${b.seq} read back as ${JSON.stringify({ ...a, payload: a.payload.length })}`);
      }
    }
    await backend.raw(location, `UPDATE journal SET sum = sum + 1 WHERE rid = ${run.rid} AND seq = 9000`);
    await expect(store.readJournal(run.rid)).rejects.toThrow(/^run long: journal entry seq 9000 .* fails its checksum/);
    await backend.raw(location, `DELETE FROM journal WHERE rid = ${run.rid} AND seq = 5000`);
    await expect(store.readJournal(run.rid)).rejects.toThrow(/^run long: the journal has a gap \(expected seq 5000, found seq 5001\)/);
  });

  test("a journal row that fails its checksum is reported as corrupt, also by export", async () => {
    const { store, location } = await fresh();
    const run = await store.createRun(newRun("c"));
    const lease = await store.acquireLease("c", "me:1:x", 60_000, false);
    await store.appendJournal(lease, [entry(1), entry(2)], []);
    await backend.raw(location, `UPDATE journal SET sum = sum + 1 WHERE rid = ${run.rid} AND seq = 2`);
    await expect(store.readJournal(run.rid)).rejects.toBeInstanceOf(CorruptJournal);
    await expect(store.readJournal(run.rid)).rejects.toThrow(/^run c: journal entry seq 2 .* fails its checksum/);
    await expect(store.exportRun("c")).rejects.toBeInstanceOf(CorruptJournal);
  });

  // SQLite only: its columns take a value of any type (PostgreSQL's typed columns refuse these writes).
  if (backend.name === "sqlite")
    test("journal cells of the wrong type (text where a number belongs, a text payload) are reported as corrupt, never misread", async () => {
      const { store, location } = await fresh();
      const run = await store.createRun(newRun("t"));
      const lease = await store.acquireLease("t", "me:1:x", 60_000, false);
      await store.appendJournal(lease, [entry(1), entry(2), entry(3)], []);
      for (const [seq, damage] of [
        [2, "op = '1,2,3'"],
        [2, "digest = 1.5"],
        [3, "payload = 'q3'"],
      ] as const) {
        const before = (await store.readJournal(run.rid)).length;
        await backend.raw(location, `UPDATE journal SET ${damage} WHERE rid = ${run.rid} AND seq = ${seq}`);
        await expect(store.readJournal(run.rid), damage).rejects.toBeInstanceOf(CorruptJournal);
        await expect(store.readJournal(run.rid), damage).rejects.toThrow(
          new RegExp(`^run t: journal entry seq ${seq} .* fails its checksum`),
        );
        expect(before, damage).toBeGreaterThan(0);
        // Put the entry back as it was written, for the next kind of damage.
        await backend.raw(location, `DELETE FROM journal WHERE rid = ${run.rid} AND seq = ${seq}`);
        await store.appendJournal(lease, [entry(seq)], []);
      }
    });

  test("a driver's error is a StoreError with the driver's error as its cause, which leaves a run to be retried", async () => {
    const { store, location } = await fresh();
    const run = await store.createRun(newRun("w"));
    await backend.raw(location, "DROP TABLE logs");
    const err: unknown = await store.readLogs(run.rid).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    const { cause, message } = err as StoreError;
    expect(cause).toBeInstanceOf(Error);
    expect(cause).not.toBeInstanceOf(StoreError);
    expect(message).toMatch(/logs/);
    expect(dispositionOf(err)).toBe("retry");
    // The store still works for what the drop did not touch.
    expect((await store.getRun("w"))!.status).toBe("pending");
  });

  /** The error of opening `location` and making a first call (SQLite fails in open, PostgreSQL at the first call). */
  async function openError(location: string): Promise<Error | null> {
    try {
      const s = openStoreAt(location, "process");
      open.push(s);
      await s.listRuns({});
      return null;
    } catch (err) {
      return err as Error;
    }
  }

  test("schema: a foreign database and a newer dwe schema are refused without being written", async () => {
    const foreign = backend.fresh();
    await backend.raw(foreign, "CREATE TABLE customers (id INTEGER PRIMARY KEY)");
    const e1 = await openError(foreign);
    expect(e1).toBeInstanceOf(StoreError);
    expect(e1!.message).toMatch(/not a dwe database|not dwe's/);
    // dwe created nothing there: a table named dwe_meta can still be created.
    await backend.raw(foreign, "CREATE TABLE dwe_meta (probe INTEGER)");
    const { store, location } = await fresh();
    await store.close();
    await backend.raw(location, "UPDATE dwe_meta SET value = '99' WHERE key = 'schema_version'");
    const e2 = await openError(location);
    expect(e2).toBeInstanceOf(StoreError);
    expect(e2!.message).toMatch(/newer dwe \(schema 99/);
  });

  test("schema: a database from before run names (schema 4) is brought forward; its runs keep working, unnamed", async () => {
    const { store, location } = await fresh();
    await store.createRun(newRun("old", { name: "x.wasm" }));
    await store.close();
    for (const stmt of [
      "DROP INDEX runs_by_name",
      "ALTER TABLE runs DROP COLUMN name",
      "ALTER TABLE schedules DROP COLUMN tz",
      "ALTER TABLE schedules DROP COLUMN paused",
      ...BEFORE_ATTEMPTS,
      "UPDATE dwe_meta SET value = '4' WHERE key = 'schema_version'",
    ]) {
      await backend.raw(location, stmt);
    }
    const again = openStoreAt(location, "process");
    open.push(again);
    expect((await again.getRun("old"))!.name).toBeNull();
    await again.createRun(newRun("new", { name: "y.wasm" }));
    expect((await again.listRuns({ name: "y.wasm" })).map((r) => r.id)).toEqual(["new"]);
  });

  test("schema: a database from before journal times (schema 5) is brought forward; old entries have no times, new ones do", async () => {
    const { store, location } = await fresh();
    const run = await store.createRun(newRun("old"));
    const lease = await store.acquireLease("old", "me:1:x", 60_000, false);
    await store.appendJournal(lease, [entry(1)], []);
    await store.close();
    for (const stmt of [...BEFORE_ATTEMPTS, "UPDATE dwe_meta SET value = '5' WHERE key = 'schema_version'"]) {
      await backend.raw(location, stmt);
    }
    const again = openStoreAt(location, "process");
    open.push(again);
    const [old] = await again.readJournalRecords(run.rid, 1);
    expect(old).toMatchObject({ seq: 1, startedAt: null, endedAt: null, attempt: null, request: null });
    expect(await again.listAttempts(run.rid)).toEqual([]);
    // The run goes on: its next attempt is number 1 of the new table, and its entries have times.
    const next = await again.acquireLease("old", "me:1:x", 60_000, true);
    expect(next.attempt).toBe(1);
    await again.appendJournal(next, [{ ...entry(2), startedAt: 10, endedAt: 20 }], []);
    expect((await again.readJournalRecords(run.rid, 2))[0]).toMatchObject({ seq: 2, startedAt: 10, endedAt: 20, attempt: 1 });
    expect((await again.readJournal(run.rid)).map((e) => e.seq)).toEqual([1, 2]);
  });

  /** A run "rt" whose attempt journaled entries 1…3 (logs at 2 and 3, a signal consumed at 3) and failed. */
  async function failedRun(store: Store): Promise<number> {
    const run = await store.createRun(newRun("rt"));
    await store.sendSignal("rt", "go", bytes("1"));
    const lease = await store.acquireLease("rt", "me:1:x", 60_000, false);
    await store.appendJournal(lease, [entry(1), entry(2)], [{ seq: 2, stream: "log", level: "info", message: "two", at: 2 }]);
    expect(await store.takeSignal(lease, "go", 3)).toMatchObject({ consumedSeq: 3 });
    await store.appendJournal(lease, [entry(3, 2)], [{ seq: 3, stream: "log", level: "info", message: "three", at: 3 }]);
    await store.finishRun(lease, { status: "failed", error: { code: "denied", message: "not granted" } });
    return run.rid;
  }

  test("retryRun moves the entries from the cut, with their logs, to the retry history, puts back their signals, makes the run pending", async () => {
    const { store } = await fresh();
    const rid = await failedRun(store);
    const run = await store.retryRun("rt", { from: 2, grants: { dirs: [], net: [{ host: "127.0.0.1", port: null }], shell: false } });
    expect(run).toMatchObject({ status: "pending", error: null, finishedAt: null, output: null, attempts: 1 });
    expect(run.config.grants.net).toEqual([{ host: "127.0.0.1", port: null }]);
    expect((await store.readJournal(rid)).map((e) => e.seq)).toEqual([1]);
    expect(await store.readLogs(rid)).toEqual([]);
    expect((await store.listSignals(rid)).map((x) => x.consumedSeq)).toEqual([null]);
    const [retry, ...more] = await store.listRetries(rid);
    expect(more).toEqual([]);
    expect(retry).toMatchObject({ number: 1, fromSeq: 2, afterAttempt: 1, error: { code: "denied", message: "not granted" } });
    expect(retry!.entries.map((e) => [e.seq, e.state, e.attempt, Buffer.from(e.payload).toString()])).toEqual([
      [2, 1, 1, "p2"],
      [3, 2, 1, "p3"],
    ]);
    // The run goes on from seq 2: a new attempt journals there again, and can be retried again.
    const lease = await store.acquireLease("rt", "me:1:x", 60_000, false);
    expect(lease.attempt).toBe(2);
    await store.appendJournal(lease, [entry(2, 2, "again")], []);
    await store.finishRun(lease, { status: "failed", error: { code: "denied", message: "still" } });
    await store.retryRun("rt", { from: 3 }); // nothing from 3 on: nothing cut
    expect((await store.listRetries(rid)).map((r) => [r.number, r.fromSeq, r.afterAttempt, r.entries.length])).toEqual([
      [1, 2, 1, 2],
      [2, 3, 2, 0],
    ]);
    // The log lines each retry cut, as they were (`dwe logs --all`).
    expect(await store.listCutLogs(rid)).toEqual([
      {
        retry: 1,
        fromSeq: 2,
        lines: [
          { seq: 2, stream: "log", level: "info", message: "two", at: 2 },
          { seq: 3, stream: "log", level: "info", message: "three", at: 3 },
        ],
      },
      { retry: 2, fromSeq: 3, lines: [] },
    ]);
    expect((await store.readJournal(rid)).map((e) => e.seq)).toEqual([1, 2]);
  });

  test("retryRun refuses a run that is not failed, or a seq past the journal, and writes nothing", async () => {
    const { store } = await fresh();
    const rid = await failedRun(store);
    await store.createRun(newRun("waiting"));
    await expect(store.retryRun("rt", { from: 5 })).rejects.toBeInstanceOf(UsageError);
    await expect(store.retryRun("rt", { from: 0 })).rejects.toBeInstanceOf(UsageError);
    await expect(store.retryRun("waiting", { from: 1 })).rejects.toBeInstanceOf(RunStateError);
    await expect(store.retryRun("nobody", { from: 1 })).rejects.toBeInstanceOf(RunNotFound);
    expect((await store.getRun("rt"))!.status).toBe("failed");
    expect((await store.readJournal(rid)).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await store.listRetries(rid)).toEqual([]);
    expect(await store.listCutLogs(rid)).toEqual([]);
    // Deleting a retried run deletes its retries and their entries.
    await store.retryRun("rt", { from: 2 });
    const lease = await store.acquireLease("rt", "me:1:x", 60_000, false);
    await store.finishRun(lease, { status: "failed", error: { code: "x", message: "y" } });
    expect(await store.deleteRuns({ statuses: ["failed"], ids: ["rt"] })).toEqual(["rt"]);
    expect(await store.listRetries(rid)).toEqual([]);
  });

  test("schema: a database from before retries (schema 6) is brought forward; its failed runs can be retried", async () => {
    const { store, location } = await fresh();
    const rid = await failedRun(store);
    await store.close();
    for (const stmt of [...BEFORE_RETRIES, "UPDATE dwe_meta SET value = '6' WHERE key = 'schema_version'"]) {
      await backend.raw(location, stmt);
    }
    const again = openStoreAt(location, "process");
    open.push(again);
    expect(await again.listRetries(rid)).toEqual([]);
    await again.retryRun("rt", { from: 3 });
    expect((await again.listRetries(rid))[0]!.entries.map((e) => e.seq)).toEqual([3]);
  });

  test("setRunModule records each change of module, with the module replaced and the attempt; the same module records nothing", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("u"));
    expect(await store.listUpgrades(run.rid)).toEqual([]);
    const first = await store.acquireLease("u", "me:1:x", 60_000, false);
    const before = Date.now();
    await store.setRunModule(first, MOD2);
    await store.setRunModule(first, MOD2); // already its module: no second record
    await store.finishRun(first, { status: "suspended", wakeAt: Date.now() + 60_000 });
    const second = await store.acquireLease("u", "me:1:x", 60_000, false);
    await store.setRunModule(second, MOD);
    const ups = await store.listUpgrades(run.rid);
    expect(ups.map((u) => [u.number, u.fromModule, u.toModule, u.attempt])).toEqual([
      [1, MOD, MOD2, first.attempt],
      [2, MOD2, MOD, second.attempt],
    ]);
    expect(ups[0]!.at).toBeGreaterThanOrEqual(before);
    expect((await store.getRun("u"))!.module).toBe(MOD);
    // A stale lease changes and records nothing; deleting the run deletes its upgrades.
    await expect(store.setRunModule(first, MOD2)).rejects.toBeInstanceOf(LeaseLost);
    expect(await store.listUpgrades(run.rid)).toHaveLength(2);
    await store.finishRun(second, { status: "completed", output: null });
    expect(await store.deleteRuns({ statuses: ["completed"], ids: ["u"] })).toEqual(["u"]);
    expect(await store.listUpgrades(run.rid)).toEqual([]);
  });

  test("schema: a database from before upgrades were recorded (schema 7) is brought forward; upgrades are recorded from then on", async () => {
    const { store, location } = await fresh();
    const run = await store.createRun(newRun("old-up"));
    await store.close();
    for (const stmt of [...BEFORE_UPGRADES, "UPDATE dwe_meta SET value = '7' WHERE key = 'schema_version'"]) {
      await backend.raw(location, stmt);
    }
    const again = openStoreAt(location, "process");
    open.push(again);
    expect(await again.listUpgrades(run.rid)).toEqual([]);
    const lease = await again.acquireLease("old-up", "me:1:x", 60_000, false);
    await again.setRunModule(lease, MOD2);
    expect((await again.listUpgrades(run.rid)).map((u) => [u.fromModule, u.toModule])).toEqual([[MOD, MOD2]]);
  });

  test("connections cut by the server: the store reconnects and carries on (reads, fenced appends, claims)", async () => {
    const { store } = await fresh();
    const run = await store.createRun(newRun("k"));
    const lease = await store.acquireLease("k", "me:1:x", 60_000, false);
    await store.appendJournal(lease, [entry(1)], []);
    for (let i = 2; i <= 4; i++) {
      await backend.cut();
      await store.appendJournal(lease, [entry(i)], []);
      expect(await store.renewLeases([lease], 60_000)).toEqual([{ runId: "k", held: true, cancelRequested: false }]);
    }
    await backend.cut();
    expect((await store.readJournal(run.rid)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    await backend.cut();
    await store.createRun(newRun("k2"));
    await backend.cut();
    expect((await store.claimRuns("w", 5, 60_000, Date.now())).map((c) => c.lease.runId)).toEqual(["k2"]);
    await backend.cut();
    await store.finishRun(lease, { status: "completed", output: null });
    expect((await store.getRun("k"))!.status).toBe("completed");
  });

  // PostgreSQL only: a statement whose connection dies while it waits is run again on a new one.
  if (backend.name === "postgres")
    test("a journal append whose connection is killed mid-statement is retried, once", async () => {
      const { store, location } = await fresh();
      const run = await store.createRun(newRun("m"));
      const lease = await store.acquireLease("m", "me:1:x", 60_000, false);
      const u = new URL(location);
      const schema = u.searchParams.get("schema")!;
      u.searchParams.delete("schema");
      const locker = new pg.Client({ connectionString: u.toString(), options: `-c search_path=${schema}` });
      await locker.connect();
      try {
        await locker.query("BEGIN");
        await locker.query("SELECT 1 FROM runs WHERE rid = $1 FOR UPDATE", [run.rid]);
        const pending = store.appendJournal(lease, [entry(1, 1, "once")], []);
        // The append waits for the row lock; kill its backend there.
        let killed = 0;
        for (let i = 0; i < 200 && killed === 0; i++) {
          const r = await locker.query(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'dwe' AND wait_event_type = 'Lock'`,
          );
          killed = r.rowCount ?? 0;
          if (killed === 0) await new Promise((res) => setTimeout(res, 20));
        }
        expect(killed).toBe(1);
        await locker.query("COMMIT");
        await pending;
      } finally {
        await locker.end();
      }
      expect((await store.readJournal(run.rid)).map((e) => text(e.payload))).toEqual(["once"]);
    });

  test("a second store on the same location sees the first one's writes (migrations run once)", async () => {
    const { store, again } = await fresh();
    await store.createRun(newRun(`shared-${randomBytes(2).toString("hex")}`));
    const stores = [again(), again(), again()];
    const seen = await Promise.all(stores.map((s) => s.listRuns({})));
    for (const runs of seen) expect(runs).toHaveLength(1);
  });
});
