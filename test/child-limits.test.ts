// A run cannot start child runs without bound: its own children, the descendants of its tree and
// the tree's depth are limited (--max-children, --max-descendants, --max-depth, stored with the run
// and inherited); past a limit `child.start` answers the guest error `limit` and starts nothing.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { unpack } from "msgpackr";
import { dwe, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { startWorker, type WorkerProcess } from "./support/worker.js";
import { opCode } from "../engine/kernel/ops.js";

const pgEnabled = await pgTestsEnabled("child run limits");
const CHILD_START = opCode("child.start")!;

/** A guest whose `run` calls `child.start {}` (a child running `run` again) `n` times, ignoring the answers. */
function forker(dir: string, n: number): string {
  return abiGuest(dir, `fork${n}`, {
    data: { 0: "child.start", 16: "\\80" },
    body: `(local $i i32)
      (loop $again
        (drop (call $call (i32.const 0) (i32.const 11) (i32.const 16) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const ${n}))))`,
  });
}

interface Entry {
  run: string;
  state: number;
  payload: Uint8Array;
}

/** The `child.start` answers of every run: "ok", or the error's code and message. */
function answers(entries: Entry[]): { run: string; ok: boolean; code?: string; message?: string }[] {
  return entries.map((e) => {
    if (e.state === 1) return { run: e.run, ok: true };
    const err = unpack(e.payload) as { code: string; message: string };
    return { run: e.run, ok: false, code: err.code, message: err.message };
  });
}

const JOURNAL_SQL = `SELECT r.id AS run, j.state, j.payload FROM journal j JOIN runs r ON r.rid = j.rid WHERE j.op = ${CHILD_START} ORDER BY r.rid, j.seq`;

function sqliteRows(db: string): { runs: { id: string; status: string; parent_id: string | null }[]; entries: Entry[] } {
  const c = new Database(db, { readonly: true });
  try {
    return {
      runs: c.prepare("SELECT id, status, parent_id FROM runs ORDER BY rid").all() as {
        id: string;
        status: string;
        parent_id: string | null;
      }[],
      entries: c.prepare(JOURNAL_SQL).all() as Entry[],
    };
  } finally {
    c.close();
  }
}

async function settled(read: () => Promise<{ runs: { status: string }[] }>, count: (n: number) => boolean): Promise<void> {
  const end = Date.now() + 100_000;
  for (;;) {
    const { runs } = await read();
    if (count(runs.length) && runs.every((r) => r.status === "completed")) return;
    // Not completed within the time: say which runs and how they stand.
    if (Date.now() > end)
      throw new Error(`runs did not settle: ${JSON.stringify(runs.filter((r) => r.status !== "completed").slice(0, 5))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("child run limits", () => {
  let w: ReturnType<typeof workdir>;
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-child-limits-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });

  it("--max-children 5: the sixth child.start of a run gets error limit, and only five children exist", () => {
    const r = dwe(["run", forker(w.dir, 10), "--id", "root", "--max-children", "5"], { cwd: w.dir, db: w.db });
    expect(r.stderr).not.toMatch(/error|failed/);
    expect(r.code).toBe(0);
    const { runs, entries } = sqliteRows(w.db);
    expect(runs.filter((x) => x.parent_id === "root")).toHaveLength(5);
    const got = answers(entries);
    expect(got.map((a) => a.ok)).toEqual([true, true, true, true, true, false, false, false, false, false]);
    expect(got[5]).toMatchObject({
      code: "limit",
      message: "run root cannot start another child run: it has 5 children, the limit (--max-children 5); no child was started",
    });
  });

  it("a fork bomb under a worker stops at --max-descendants and --max-depth, every run completing", async () => {
    expect(dwe(["start", forker(w.dir, 2), "--id", "bomb", "--max-descendants", "20"], { cwd: w.dir, db: w.db }).code).toBe(0);
    expect(
      dwe(["start", forker(w.dir, 2), "--id", "chain", "--max-depth", "3", "--max-children", "1"], { cwd: w.dir, db: w.db }).code,
    ).toBe(0);
    workers.push(startWorker(w));
    await settled(
      () => Promise.resolve(sqliteRows(w.db)),
      (n) => n === 2 + 20 + 3,
    );
    const { runs, entries } = sqliteRows(w.db);
    const inTree = (root: string) => runs.filter((r) => r.id.startsWith(`${root}.`));
    expect(inTree("bomb")).toHaveLength(20);
    expect(inTree("chain").map((r) => r.id)).toEqual(["chain.1", "chain.1.1", "chain.1.1.1"]);
    const refused = answers(entries).filter((a) => !a.ok);
    expect(
      refused.some(
        (a) => a.run.startsWith("bomb") && /its run tree has 20 descendants, the limit \(--max-descendants 20\)/.test(a.message!),
      ),
    ).toBe(true);
    expect(refused.find((a) => a.run === "chain.1.1.1" && a.message!.includes("depth"))?.message).toBe(
      "run chain.1.1.1 cannot start another child run: the child would be at depth 4, past the limit (--max-depth 3); no child was started",
    );
    expect(refused.every((a) => a.code === "limit")).toBe(true);
  }, 180_000);

  describe.runIf(pgEnabled)("PostgreSQL", () => {
    let pgdb: TestDatabase;
    beforeEach(async () => {
      pgdb = await createTestDatabase();
    });
    afterEach(async () => {
      for (const p of workers.splice(0)) await p.stop("SIGKILL");
      await pgdb.drop();
    });

    it("--max-children is exact and a fork bomb stops near --max-descendants", async () => {
      const at = { cwd: w.dir, db: pgdb.url };
      // --max-depth 1: root's children (running the same code) cannot start their own.
      expect(dwe(["run", forker(w.dir, 10), "--id", "root", "--max-children", "5", "--max-depth", "1"], at).code).toBe(0);
      expect(dwe(["start", forker(w.dir, 2), "--id", "bomb", "--max-descendants", "20"], at).code).toBe(0);
      workers.push(startWorker({ dir: w.dir, db: pgdb.url }));
      const read = async () => ({
        runs: (await sql(pgdb.url, "SELECT id, status, parent_id, error FROM runs ORDER BY rid")).rows as {
          id: string;
          status: string;
          parent_id: string | null;
        }[],
        entries: (await sql(pgdb.url, JOURNAL_SQL)).rows as Entry[],
      });
      await settled(read, (n) => n >= 1 + 5 + 1 + 20);
      const { runs, entries } = await read();
      expect(runs.filter((r) => r.parent_id === "root")).toHaveLength(5);
      const bomb = runs.filter((r) => r.id.startsWith("bomb."));
      // Runs of one tree starting children at the same moment may pass it by as many as start at once.
      expect(bomb.length).toBeGreaterThanOrEqual(20);
      expect(bomb.length).toBeLessThanOrEqual(24);
      expect(answers(entries).some((a) => a.run.startsWith("bomb") && a.code === "limit")).toBe(true);
    }, 180_000);
  });
});
