// Schedules: cron expressions (croner) in UTC or a time zone, the CLI (add, list, pause, resume,
// update, remove), and exactly one run per tick with two workers on one database.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { dweAsync, workdir } from "./support/cli.js";
import { WORKER_WASM, runsIn, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";
import { Cron } from "../engine/worker/cron.js";

const at = (iso: string) => Date.parse(iso);

describe("cron", () => {
  it("computes next ticks in UTC", () => {
    expect(new Date(Cron.parse("*/15 * * * *").next(at("2026-01-01T10:07:30Z"))).toISOString()).toBe("2026-01-01T10:15:00.000Z");
    expect(new Date(Cron.parse("0 9 * * 1-5").next(at("2026-01-02T09:00:00Z"))).toISOString()).toBe("2026-01-05T09:00:00.000Z"); // Fri -> Mon
    expect(new Date(Cron.parse("30 2 1 */3 *").next(at("2026-02-10T00:00:00Z"))).toISOString()).toBe("2026-04-01T02:30:00.000Z");
    expect(new Date(Cron.parse("0 0 29 2 *").next(at("2026-03-01T00:00:00Z"))).toISOString()).toBe("2028-02-29T00:00:00.000Z");
    expect(new Date(Cron.parse("5,10 1 * * 7").next(at("2026-01-01T00:00:00Z"))).toISOString()).toBe("2026-01-04T01:05:00.000Z"); // Sunday
    // both day fields restricted: either matches
    expect(new Date(Cron.parse("0 0 13 * 5").next(at("2026-01-01T00:00:00Z"))).toISOString()).toBe("2026-01-02T00:00:00.000Z");
  });
  it("refuses bad expressions", () => {
    for (const e of ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *", "* * 0 * *"]) {
      expect(() => Cron.parse(e), e).toThrow(/bad --cron/);
    }
    expect(() => Cron.parse("0 0 30 2 *").next(0)).toThrow(/never matches/);
  });
  it("reads an expression in a time zone, daylight saving time included", () => {
    const paris = Cron.parse("0 9 * * *", "Europe/Paris");
    expect(new Date(paris.next(at("2026-01-10T00:00:00Z"))).toISOString()).toBe("2026-01-10T08:00:00.000Z"); // CET, UTC+1
    expect(new Date(paris.next(at("2026-07-10T00:00:00Z"))).toISOString()).toBe("2026-07-10T07:00:00.000Z"); // CEST, UTC+2
    expect(new Date(Cron.parse("@daily").next(at("2026-01-10T05:00:00Z"))).toISOString()).toBe("2026-01-11T00:00:00.000Z");
    expect(() => Cron.parse("0 9 * * *", "Mars/Olympus")).toThrow(/bad --tz 'Mars\/Olympus'/);
  });
});

describe("dwe schedule + workers", () => {
  let w: ReturnType<typeof workdir>;
  // The CLI runs in the test's directory, as the worker does: relative paths (--input @FILE) resolve there.
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-schedule-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });

  it("add, list, remove; bad cron is a one-line error with exit 2", async () => {
    const bad = await cli(["schedule", "add", "x", WORKER_WASM, "--cron", "61 * * * *"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^dwe: error: bad --cron '61 \* \* \* \*': \S.*\n$/);
    const add = await cli([
      "schedule",
      "add",
      "nightly",
      WORKER_WASM,
      "--cron",
      "0 3 * * *",
      "--entry",
      "signals",
      "--input",
      '{"timeout_ms":0}',
    ]);
    expect(add.stderr).toBe("");
    expect(add.stdout).toMatch(/^nightly: next run at \d{4}-\d\d-\d\dT03:00:00.000Z/);
    const dup = await cli(["schedule", "add", "nightly", WORKER_WASM, "--cron", "0 3 * * *"]);
    expect(dup.code).toBe(2);
    const list = JSON.parse((await cli(["schedule", "list", "--json"])).stdout) as { name: string; cron: string; entry: string }[];
    expect(list).toMatchObject([{ name: "nightly", cron: "0 3 * * *", entry: "signals" }]);
    expect((await cli(["schedule", "remove", "nightly"])).code).toBe(0);
    expect((await cli(["schedule", "remove", "nightly"])).code).toBe(2);
  });

  it("--tz, pause, resume and update: list shows them, and a worker fires no tick of a paused schedule", async () => {
    const add = (name: string, extra: string[] = []) =>
      cli(["schedule", "add", name, WORKER_WASM, "--cron", "0 9 * * *", "--entry", "signals", "--input", '{"timeout_ms":0}', ...extra]);
    const paris = await add("a-paused", ["--tz", "Europe/Paris", "--json"]);
    expect(paris.stderr).toBe("");
    expect(JSON.parse(paris.stdout)).toMatchObject({
      name: "a-paused",
      tz: "Europe/Paris",
      next_tick: expect.stringMatching(/T0[78]:00:00/) as unknown,
    });
    expect((await add("b-live")).code).toBe(0);
    expect((await cli(["schedule", "add", "c", WORKER_WASM, "--cron", "0 9 * * *", "--tz", "Nowhere/Land"])).stderr).toMatch(
      /^dwe: error: bad --tz 'Nowhere\/Land'/,
    );
    const paused = JSON.parse((await cli(["schedule", "pause", "a-paused", "--json"])).stdout) as { paused: boolean };
    expect(paused.paused).toBe(true);
    expect((await cli(["schedule", "list"])).stdout).toMatch(/^a-paused\s+0 9 \* \* \*\s+Europe\/Paris\s+signals\s+paused\s/m);
    expect((await cli(["schedule", "pause", "nope"])).stderr).toMatch(/^dwe: error: no schedule named 'nope'/);

    // Both due at once; the worker looks at them in name order, so when b-live has fired, a-paused was passed over.
    const db = new Database(w.db);
    try {
      db.prepare("UPDATE schedules SET next_tick = ?").run(Date.now() - 1000);
      workers.push(startWorker(w, [], { DWE_POLL_MS: "20" }));
      await waitFor("b-live fired", () => db.prepare("SELECT last_tick FROM schedules WHERE name = 'b-live'").pluck().get() !== null);
      expect(db.prepare("SELECT last_tick FROM schedules WHERE name = 'a-paused'").pluck().get()).toBeNull();
    } finally {
      db.close();
    }
    expect(runsIn(w.db, "id LIKE 'a-paused.%'")).toEqual([]);

    const resumed = JSON.parse((await cli(["schedule", "resume", "a-paused", "--json"])).stdout) as { paused: boolean; next_tick: string };
    expect(resumed.paused).toBe(false);
    expect(Date.parse(resumed.next_tick)).toBeGreaterThan(Date.now());
    const updated = await cli(["schedule", "update", "a-paused", "--cron", "30 6 * * *", "--tz", "UTC", "--json"]);
    expect(updated.stderr).toBe("");
    expect(JSON.parse(updated.stdout)).toMatchObject({
      cron: "30 6 * * *",
      tz: "UTC",
      paused: false,
      next_tick: expect.stringMatching(/T06:30:00/) as unknown,
    });
    expect((await cli(["schedule", "update", "a-paused", "--cron", "99 * * * *"])).code).toBe(2);
  });

  it("two workers on one database start exactly one run per due tick", async () => {
    const add = await cli([
      "schedule",
      "add",
      "tick",
      WORKER_WASM,
      "--cron",
      "0 0 1 1 *",
      "--entry",
      "signals",
      "--input",
      '{"timeout_ms":0}',
    ]);
    expect(add.code).toBe(0);
    workers.push(startWorker(w, [], { DWE_POLL_MS: "20" }), startWorker(w, [], { DWE_POLL_MS: "20" }));
    // Make the schedule due five times (as if five ticks came), racing both workers each time.
    const db = new Database(w.db);
    const ticks: number[] = [];
    try {
      for (let k = 0; k < 5; k++) {
        const tick = Date.now() - 1000 + k;
        ticks.push(tick);
        db.prepare("UPDATE schedules SET next_tick = ? WHERE name = 'tick'").run(tick);
        await waitFor(
          "tick fired",
          () => (db.prepare("SELECT last_tick FROM schedules WHERE name = 'tick'").pluck().get() as number | null) === tick,
        );
      }
    } finally {
      db.close();
    }
    await waitFor("5 runs completed", () => runsIn(w.db, "id LIKE 'tick.%' AND status = 'completed'").length === 5);
    const runs = runsIn(w.db, "id LIKE 'tick.%'");
    expect(runs.map((r) => r.id).sort()).toEqual(ticks.map((t) => `tick.${t}`).sort());
    const log = workers.map((p) => p.log()).join("");
    expect(log.match(/started run tick\./g)?.length).toBe(5);
  });
});
