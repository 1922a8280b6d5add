// Retention (docs/worker.md, "Retention"): Store.deleteRuns on a real SQLite file and a real PostgreSQL
// database, then `dwe purge`, `dwe delete` and `dwe worker --retention` through the real CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../engine/kernel/errors.js";
import type { JournalEntry } from "../engine/journal/entry.js";
import { openStoreAt } from "../engine/store/open.js";
import type { NewRun, RunConfig, RunEnd, Store } from "../engine/store/types.js";
import { dwe, example, spawnDwe, exited, workdir } from "./support/cli.js";
import { createTestDatabase, pgTestsEnabled, type TestDatabase } from "./support/postgres.js";

const CONFIG: RunConfig = { grants: { dirs: [], net: [], shell: false }, args: [], env: {}, timeoutMs: 5000, maxMemoryBytes: null };
const MOD = "a".repeat(64);
const bytes = (s: string) => new TextEncoder().encode(s);
const newRun = (id: string, parentId: string | null = null): NewRun => ({
  id,
  module: MOD,
  entry: "run",
  input: bytes("{}"),
  config: CONFIG,
  parentId,
  status: "pending",
});
const entry = (seq: number): JournalEntry => ({ seq, op: 1, digest: seq, state: 1, payload: bytes(`p${seq}`) });
const OWNER = "elsewhere.example:4242:abcdef";

/** Creates run `id`, journals two entries and a log line under a lease, then ends it with `end`. */
async function ended(store: Store, id: string, end: RunEnd | null, parentId: string | null = null): Promise<number> {
  const run = parentId === null ? await store.createRun(newRun(id)) : await store.createRun(newRun(id, parentId));
  const lease = await store.acquireLease(id, OWNER, 60_000, false);
  await store.appendJournal(
    lease,
    [entry(1), entry(2)],
    [{ seq: 1, level: "info", message: `hello from ${id}`, at: Date.now(), stream: "log" }],
  );
  await store.sendSignal(id, "go", bytes("1"));
  if (end) await store.finishRun(lease, end);
  return run.rid;
}

const FINAL = ["completed", "failed", "cancelled"] as const;
const failed: RunEnd = { status: "failed", error: { code: "trap", message: "boom" } };
const cancelled: RunEnd = { status: "cancelled", error: { code: "cancelled", message: "cancelled" } };
const completed: RunEnd = { status: "completed", output: bytes("ok") };

const pgEnabled = await pgTestsEnabled("retention");
let pgDb: TestDatabase | null = null;
let schemaN = 0;
const dirs: { cleanup: () => void }[] = [];

beforeAll(async () => {
  if (pgEnabled) pgDb = await createTestDatabase();
});
afterAll(async () => {
  await pgDb?.drop();
  dirs.forEach((d) => d.cleanup());
});

const backends = [
  {
    name: "sqlite",
    enabled: true,
    fresh: () => {
      const w = workdir("dwe-retention-");
      dirs.push(w);
      return w.db;
    },
  },
  { name: "postgres", enabled: pgEnabled, fresh: () => `${pgDb!.url}?schema=r${++schemaN}` },
];

describe.each(backends)("Store.deleteRuns: $name", (backend) => {
  const test = backend.enabled ? it : it.skip;

  async function fixture(): Promise<{ store: Store; rids: Record<string, number> }> {
    const store = openStoreAt(backend.fresh(), "process");
    await store.putModule(MOD, "core", bytes("module"));
    const rids: Record<string, number> = {};
    rids.running = await ended(store, "running", null);
    rids.done1 = await ended(store, "done1", completed);
    rids.done2 = await ended(store, "done2", completed);
    rids.bad = await ended(store, "bad", failed);
    rids.stopped = await ended(store, "stopped", cancelled);
    // A suspended parent whose child has completed: the parent may still read the child's result.
    rids.parent = await ended(store, "parent", { status: "suspended", wakeAt: null });
    rids.child = await ended(store, "child", completed, "parent");
    return { store, rids };
  }

  test("deletes final runs with their journal, logs and signals; never a run that is not final, nor a child of one", async () => {
    const { store, rids } = await fixture();
    try {
      const listed = await store.deleteRuns({ statuses: FINAL, dryRun: true });
      expect(listed).toEqual(["done1", "done2", "bad", "stopped"]);
      expect(await store.getRun("done1")).toBeDefined(); // a dry run deletes nothing

      expect(await store.deleteRuns({ statuses: ["completed"] })).toEqual(["done1", "done2"]);
      for (const id of ["done1", "done2"]) {
        expect(await store.getRun(id)).toBeUndefined();
        expect(await store.readJournal(rids[id]!)).toEqual([]);
        expect(await store.readLogs(rids[id]!)).toEqual([]);
        expect(await store.listSignals(rids[id]!)).toEqual([]);
      }
      // What was not selected is untouched, journal and all.
      for (const id of ["running", "bad", "stopped", "parent", "child"]) expect(await store.getRun(id)).toBeDefined();
      expect((await store.readJournal(rids.child!)).length).toBe(2);
      expect((await store.readLogs(rids.bad!)).length).toBe(1);

      // Time: nothing ended a minute ago; everything final ended before a second from now.
      expect(await store.deleteRuns({ statuses: FINAL, finishedBefore: Date.now() - 60_000 })).toEqual([]);
      expect(await store.deleteRuns({ statuses: FINAL, ids: ["bad", "child", "running"], finishedBefore: Date.now() + 1000 })).toEqual([
        "bad",
      ]);
      await expect(store.deleteRuns({ statuses: ["running"] })).rejects.toThrow(UsageError);
      await expect(store.deleteRuns({ statuses: ["suspended", "completed"] })).rejects.toThrow(/a suspended run cannot be deleted/);
      expect(await store.getRun("running")).toBeDefined();
    } finally {
      await store.close();
    }
  });

  test("a deleted run's rid is never given to a new run, so a stale lease on it fences nothing of the new run", async () => {
    const { store, rids } = await fixture();
    try {
      // The newest run is the child; end its parent so the child may go, then delete both.
      const lease = await store.acquireLease("parent", OWNER, 60_000, true);
      await store.finishRun(lease, completed);
      const staleChild = { runId: "child", rid: rids.child!, owner: OWNER, token: 1, expiresAt: Date.now() + 60_000, attempt: 1 };
      expect((await store.deleteRuns({ statuses: FINAL, ids: ["parent", "child"] })).sort()).toEqual(["child", "parent"]);
      const fresh = await store.createRun(newRun("fresh"));
      expect(fresh.rid).toBeGreaterThan(rids.child!);
      const freshLease = await store.acquireLease("fresh", OWNER, 60_000, false);
      expect(freshLease.token).toBe(1);
      // The deleted child's attempt still thinks it holds token 1 of its rid: its write is refused.
      await expect(store.appendJournal(staleChild, [entry(3)], [])).rejects.toThrow();
      expect(await store.readJournal(fresh.rid)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe("dwe purge, dwe delete, dwe worker --retention (real CLI, SQLite)", () => {
  it("purge deletes only final runs and says what it did; delete refuses a run that is not final; the worker purges old runs", async () => {
    const w = workdir("dwe-purge-");
    dirs.push(w);
    const opts = { cwd: w.dir, db: w.db };
    for (const id of ["h1", "h2"]) expect(dwe(["run", "--id", id, example("hello")], opts).code).toBe(0);
    expect(dwe(["start", "--id", "waiting", example("hello")], opts).code).toBe(0);

    const dry = dwe(["purge", "--dry-run", "--json"], opts);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ runs: ["h1", "h2"], dryRun: true });
    expect(dwe(["show", "h1"], opts).code).toBe(0);

    const young = dwe(["purge", "--older-than", "1d"], opts);
    expect(young.code).toBe(0);
    expect(young.stdout).toBe("");
    expect(young.stderr).toBe("dwe: deleted 0 run(s)\n");

    const pending = dwe(["delete", "waiting"], opts);
    expect(pending.code).not.toBe(0);
    expect(pending.stderr).toBe(
      "dwe: error: run waiting is pending; only a completed, failed or cancelled run can be deleted: cancel it first (dwe cancel waiting)\n",
    );
    const missing = dwe(["delete", "nope"], opts);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^dwe: error: .*nope.*\n$/);
    const bad = dwe(["purge", "--older-than", "soon"], opts);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toBe("dwe: error: bad --older-than 'soon': expected a duration such as 30d, 12h or 90m (units ms, s, m, h, d)\n");
    expect(dwe(["purge", "--status", "pending"], opts).stderr).toMatch(/only final runs can be purged/);

    const one = dwe(["delete", "h1", "--json"], opts);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ deleted: "h1" });
    expect(dwe(["show", "h1"], opts).code).not.toBe(0);
    expect(dwe(["logs", "h1"], opts).code).not.toBe(0);

    // A worker with --retention 1ms executes `waiting` and, at its first sweep, deletes h2 (ended
    // before it started); `waiting` is then young enough to stay until the next sweep, a minute on.
    const worker = spawnDwe(["worker", "--retention", "1ms", "--poll", "50"], opts);
    const status = (id: string) => {
      const r = dwe(["show", id, "--json"], opts);
      return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : "gone";
    };
    try {
      for (let i = 0; i < 600 && !(status("h2") === "gone" && status("waiting") === "completed"); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
    expect(status("h2")).toBe("gone");
    expect(status("waiting")).toBe("completed");
    const purged = dwe(["purge", "--json"], opts);
    expect(JSON.parse(purged.stdout)).toEqual({ runs: ["waiting"], dryRun: false });
    expect(status("waiting")).toBe("gone");
  });
});
