// A run row whose config cannot be decoded (imported, written by a bug or by hand) fails that run
// with a clear error; it never makes a claim fail, so the other runs are still executed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { dwe, example, workdir } from "./support/cli.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { startRuns, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

const HELLO = example("hello");
const pgEnabled = await pgTestsEnabled("runs with malformed configs");

/** Configs no dwe writes: not MessagePack at all, nil, and a map whose grants are a string. */
const BAD_CONFIGS: Record<string, Buffer> = {
  "not-msgpack": Buffer.from([0xc1]),
  nil: Buffer.from([0xc0]),
  "grants-string": Buffer.from([0x81, 0xa6, ...Buffer.from("grants"), 0xa1, 0x78]),
};

interface Row {
  id: string;
  status: string;
  error: string | null;
}

function expectOutcome(rows: Row[]): void {
  for (const r of rows) {
    if (r.id.startsWith("good")) expect(r.status, r.id).toBe("completed");
    else {
      expect(r.status, r.id).toBe("failed");
      const e = JSON.parse(r.error!) as { code: string; message: string };
      expect(e.code).toBe("corrupt_run");
      expect(e.message).toMatch(
        new RegExp(`^run ${r.id} cannot be executed: its stored config (is not valid MessagePack|is not a map|has no valid grants)`),
      );
    }
  }
}

const ended = (rows: Row[]) => rows.length === 6 && rows.every((r) => r.status === "completed" || r.status === "failed");

describe("a run row that cannot be decoded", () => {
  let w: ReturnType<typeof workdir>;
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-bad-rows-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });

  it("SQLite: the worker fails each bad run with corrupt_run and completes the innocent ones; runs and show still work", async () => {
    await startRuns(w, [
      ...Object.keys(BAD_CONFIGS).map((k) => [HELLO, "--id", `bad-${k}`]),
      ...[1, 2, 3].map((i) => [HELLO, "--id", `good-${i}`]),
    ]);
    const conn = new Database(w.db);
    for (const [k, bytes] of Object.entries(BAD_CONFIGS)) conn.prepare("UPDATE runs SET config = ? WHERE id = ?").run(bytes, `bad-${k}`);
    conn.close();
    const listed = dwe(["runs"], { cwd: w.dir, db: w.db });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("bad-nil");
    const read = () => {
      const c = new Database(w.db, { readonly: true });
      try {
        return c.prepare("SELECT id, status, error FROM runs ORDER BY rid").all() as Row[];
      } finally {
        c.close();
      }
    };
    workers.push(startWorker(w));
    expectOutcome(await waitFor("every run to end", () => ended(read()) && read()));
    expect(dwe(["show", "bad-nil"], { cwd: w.dir, db: w.db }).stdout).toContain("corrupt_run");
  });

  it("dwe resume of such a run, with or without grant flags, fails it with corrupt_run (exit 1), never an internal error", () => {
    expect(dwe(["start", HELLO, "--id", "a"], { cwd: w.dir, db: w.db }).code).toBe(0);
    expect(dwe(["start", HELLO, "--id", "b"], { cwd: w.dir, db: w.db }).code).toBe(0);
    const conn = new Database(w.db);
    conn.prepare("UPDATE runs SET config = ? WHERE id IN ('a', 'b')").run(BAD_CONFIGS["not-msgpack"]);
    conn.close();
    for (const [id, flags] of [
      ["a", []],
      ["b", ["--grant", "--allow-net", "127.0.0.1"]],
    ] as const) {
      const r = dwe(["resume", id, ...flags], { cwd: w.dir, db: w.db });
      expect(r.code, id).toBe(1);
      expect(r.stderr.trim(), id).toMatch(
        new RegExp(
          `^dwe: run ${id} failed: corrupt_run: run ${id} cannot be executed: its stored config (is not valid MessagePack|is not a map|has no valid grants)`,
        ),
      );
    }
  });

  describe.runIf(pgEnabled)("PostgreSQL", () => {
    let pgdb: TestDatabase;
    beforeEach(async () => {
      pgdb = await createTestDatabase();
    });
    afterEach(async () => {
      for (const p of workers.splice(0)) await p.stop("SIGKILL");
      await pgdb.drop();
    });

    it("the worker fails each bad run with corrupt_run and completes the innocent ones", async () => {
      const at = { dir: w.dir, db: pgdb.url };
      await startRuns(at, [
        ...Object.keys(BAD_CONFIGS).map((k) => [HELLO, "--id", `bad-${k}`]),
        ...[1, 2, 3].map((i) => [HELLO, "--id", `good-${i}`]),
      ]);
      for (const [k, bytes] of Object.entries(BAD_CONFIGS))
        await sql(pgdb.url, "UPDATE runs SET config = $1 WHERE id = $2", [bytes, `bad-${k}`]);
      workers.push(startWorker(at));
      let rows: Row[] = [];
      const end = Date.now() + 60_000;
      while (!ended(rows) && Date.now() < end) {
        rows = (await sql(pgdb.url, "SELECT id, status, error FROM runs ORDER BY rid")).rows as Row[];
        await new Promise((r) => setTimeout(r, 100));
      }
      expectOutcome(rows);
      expect(rows).toHaveLength(6);
    });
  });
});
