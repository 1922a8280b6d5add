// Signals (`dwe signal`, `signal.wait`): sent before the wait, during it, after a worker crash, and a
// wait that times out. Each signal is delivered exactly once, in order, and journaled.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dweAsync, workdir } from "./support/cli.js";
import { WORKER_WASM, runIn, startRuns, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

describe("signals", () => {
  let w: ReturnType<typeof workdir>;
  // The CLI runs in the test's directory, as the worker does: relative paths (--input @FILE) resolve there.
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-signal-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });
  const worker = () => {
    const p = startWorker(w);
    workers.push(p);
    return p;
  };
  // The input goes by a relative @FILE: `dwe start` finds it only when it runs in the test's directory.
  const start = async (id: string, input: object) => {
    writeFileSync(join(w.dir, `${id}.json`), JSON.stringify(input));
    return (await startRuns(w, [[WORKER_WASM, "--entry", "signals", "--id", id, "--input", `@${id}.json`]]))[0]!;
  };
  const signal = async (id: string, name: string, data: unknown) => {
    const r = await cli(["signal", id, name, "--data", JSON.stringify(data)]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  };
  const completed = (id: string) =>
    waitFor(`${id} completed`, () => runIn(w.db, id).status === "completed" && (JSON.parse(runIn(w.db, id).output!) as unknown));
  const consumed = (id: string) => {
    const db = new Database(w.db, { readonly: true });
    try {
      return db
        .prepare(
          "SELECT s.name, CAST(s.data AS TEXT) AS data, s.consumed_seq AS seq FROM signals s JOIN runs r ON r.rid = s.rid WHERE r.id = ? ORDER BY s.id",
        )
        .all(id);
    } finally {
      db.close();
    }
  };

  it("signals sent before the wait are kept and delivered in order, once each", async () => {
    const id = await start("b1", { name: "go", count: 2 });
    await signal(id, "go", { n: 1 });
    await signal(id, "other", "ignored");
    await signal(id, "go", { n: 2 });
    await signal(id, "go", { n: 3 });
    worker();
    expect(await completed(id)).toEqual({ got: [{ n: 1 }, { n: 2 }], timed_out: false });
    expect(consumed(id)).toEqual([
      { name: "go", data: '{"n":1}', seq: 1 },
      { name: "other", data: '"ignored"', seq: null },
      { name: "go", data: '{"n":2}', seq: 2 },
      { name: "go", data: '{"n":3}', seq: null },
    ]);
  });

  it("a signal sent during the wait wakes the suspended run", async () => {
    const id = await start("d1", { name: "go", count: 1 });
    worker();
    await waitFor("suspended", () => runIn(w.db, id).status === "suspended");
    await signal(id, "go", "now");
    expect(await completed(id)).toEqual({ got: ["now"], timed_out: false });
  });

  it("after a worker crash: the consumed signal is not delivered again, the next one is", async () => {
    const id = await start("c1", { name: "go", count: 2 });
    const a = worker();
    await waitFor("suspended", () => runIn(w.db, id).status === "suspended");
    await signal(id, "go", 1);
    await waitFor("first consumed", () => consumed(id).some((s) => (s as { seq: number | null }).seq === 1));
    await a.stop("SIGKILL");
    await signal(id, "go", 2);
    worker();
    expect(await completed(id)).toEqual({ got: [1, 2], timed_out: false });
    expect(consumed(id)).toEqual([
      { name: "go", data: "1", seq: 1 },
      { name: "go", data: "2", seq: 2 },
    ]);
  });

  it("a wait that times out returns the timeout error to the guest", async () => {
    const id = await start("t1", { name: "go", count: 1, timeout_ms: 800 });
    const t0 = Date.now();
    worker();
    expect(await completed(id)).toEqual({ got: [], timed_out: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(800);
  });

  it("bad input: unknown run, finished run, bad JSON are one-line errors with exit 2", async () => {
    const id = await start("x1", { name: "go", count: 1, timeout_ms: 0 });
    const none = await cli(["signal", "nope", "go"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^dwe: error: no run with id 'nope'/);
    const bad = await cli(["signal", id, "go", "--data", "{oops"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^dwe: error: bad --data/);
    worker();
    await completed(id);
    const late = await cli(["signal", id, "go"]);
    expect(late.code).toBe(2);
    expect(late.stderr).toContain("is completed");
  });
});
