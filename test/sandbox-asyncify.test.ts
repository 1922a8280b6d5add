// The engine's suspension machinery (asyncify) is never the guest's: a module cannot pass its own
// functions off as asyncify's, so it can neither read another run's memory through the driver's
// save area nor wedge a worker thread by making the driver spin (issue 11, findings 1 and 2). And a
// guest that really is suspended at every call can still be stopped by cancel and shutdown.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { dwe, dweAsync, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { runIn, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

const SECRET = "victim-secret-9f1c2b7e4d";

/** asyncify's exports, forged: the state is whatever the guest says it is. */
const FAKE_ASYNCIFY = `
  (global $state (mut i32) (i32.const 0))
  (func (export "asyncify_get_state") (result i32) (global.get $state))
  (func (export "asyncify_start_unwind") (param i32) (global.set $state (i32.const 1)))
  (func (export "asyncify_stop_unwind") (global.set $state (i32.const 0)))
  (func (export "asyncify_start_rewind") (param i32) (global.set $state (i32.const 2)))
  (func (export "asyncify_stop_rewind") (global.set $state (i32.const 0)))`;

/**
 * The attacker of finding 1. Phase 0 sleeps (the driver sets the last 64 KiB aside in its save area
 * and "unwinds" through the forged exports); while it sleeps, the victim's unwind leaves its memory
 * in that area. Phase 1 pretends to unwind again with a broken end pointer, so the driver copies
 * the whole save area into the attacker's memory; phase 2 pretends to rewind, so the next call
 * restores it once more, and the attacker outputs those 64 KiB.
 */
function attacker(dir: string): string {
  return abiGuest(dir, "attacker", {
    pages: 2,
    data: { 0: "sleep", 16: "\\81\\a2ms\\cd\\03\\e8", 32: "run.output", 48: "clock.now", 65531: "\\c6\\00\\01\\00\\00" },
    extra: `${FAKE_ASYNCIFY}
  (global $phase (mut i32) (i32.const 0))`,
    body: `
    (if (i32.eqz (global.get $phase)) (then
      (global.set $phase (i32.const 1))
      (drop (call $call (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 7)))
      (return)))
    (if (i32.eq (global.get $phase) (i32.const 1)) (then
      (global.set $phase (i32.const 2))
      (i32.store (i32.const 65536) (i32.const 0))
      (global.set $state (i32.const 1))
      (return)))
    (drop (call $call (i32.const 48) (i32.const 9) (i32.const 0) (i32.const 0)))
    (drop (call $call (i32.const 32) (i32.const 10) (i32.const 65531) (i32.const 65541)))`,
  });
}

/** The victim: reads its (secret) input into the last 64 KiB of its memory, then sleeps 1 ms. */
function victim(dir: string): string {
  return abiGuest(dir, "victim", {
    pages: 2,
    data: { 0: "run.input", 16: "sleep", 32: "\\81\\a2ms\\01" },
    body: `
    (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
    (drop (call $response (i32.const 69632) (i32.const 4096)))
    (drop (call $call (i32.const 16) (i32.const 5) (i32.const 32) (i32.const 5)))`,
  });
}

/** Finding 2: forged exports that say "unwinding" for ever; the driver looped on microtasks. */
function wedge(dir: string): string {
  return abiGuest(dir, "wedge", {
    extra: `(global $state (mut i32) (i32.const 1))
  (func (export "asyncify_get_state") (result i32) (global.get $state))
  (func (export "asyncify_start_unwind") (param i32))
  (func (export "asyncify_stop_unwind"))
  (func (export "asyncify_start_rewind") (param i32))
  (func (export "asyncify_stop_rewind"))`,
    body: "",
  });
}

/** A genuine guest whose every call suspends it and settles at once: `sleep {ms: 0}` for ever. */
function sleepZeroLoop(dir: string): string {
  return abiGuest(dir, "sleep-zero", {
    data: { 0: "sleep", 16: "\\81\\a2ms\\00" },
    body: "(loop $forever (drop (call $call (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 5))) (br $forever))",
  });
}

/** A plain guest that completes (the cover under which a forged module is planted). */
function plain(dir: string): string {
  return abiGuest(dir, "plain", { body: "" });
}

/**
 * Points run `id` at `module`'s bytes directly in the database, as a database written before dwe
 * checked modules at load (or a hand-made `dwe import`) can hold it: the CLI would refuse the file.
 */
function plant(db: string, id: string, module: string): void {
  const bytes = readFileSync(module);
  const sha = createHash("sha256").update(bytes).digest("hex");
  const conn = new Database(db);
  try {
    conn
      .prepare("INSERT OR IGNORE INTO modules (sha256, kind, size, bytes, created_at) VALUES (?, 'core', ?, ?, ?)")
      .run(sha, bytes.length, bytes, Date.now());
    conn.prepare("UPDATE runs SET module = ? WHERE id = ?").run(sha, id);
  } finally {
    conn.close();
  }
}

function journalPayloads(db: string, id: string): Buffer[] {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare("SELECT j.payload FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.id = ? ORDER BY j.seq").all(id) as {
      payload: Buffer;
    }[];
    return rows.map((r) => r.payload);
  } finally {
    conn.close();
  }
}

function rawOutput(db: string, id: string): Buffer | null {
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.prepare("SELECT output FROM runs WHERE id = ?").get(id) as { output: Buffer | null }).output;
  } finally {
    conn.close();
  }
}

describe("guests cannot forge the engine's asyncify exports", () => {
  let w: ReturnType<typeof workdir>;
  const workers: WorkerProcess[] = [];
  beforeEach(() => {
    w = workdir("dwe-asyncify-");
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    w.cleanup();
  });
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const worker = (args: string[] = []) => {
    const p = startWorker(w, ["--threads", "1", ...args]);
    workers.push(p);
    return p;
  };
  const start = (module: string, id: string, extra: string[] = []) => {
    const r = cli(["start", module, "--id", id, ...extra]);
    expect(r.code, r.stderr).toBe(0);
  };

  it("a module exporting asyncify_* functions is refused before a run is created", () => {
    for (const [name, module] of [
      ["attacker", attacker(w.dir)],
      ["wedge", wedge(w.dir)],
    ] as const) {
      const r = cli(["run", module, "--id", name]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/exports 'asyncify_get_state'.*dwe instruments modules itself/);
      expect(cli(["show", name]).code).toBe(2);
    }
  });

  it("one worker thread: the victim's secret never reaches an attacker that forges asyncify", async () => {
    start(plain(w.dir), "attacker");
    plant(w.db, "attacker", attacker(w.dir));
    start(victim(w.dir), "victim", ["--input", JSON.stringify(SECRET)]);
    worker();
    await waitFor(
      "both runs ended",
      () => ["completed", "failed"].includes(runIn(w.db, "attacker").status) && runIn(w.db, "victim").status === "completed",
    );
    const a = runIn(w.db, "attacker");
    const secret = Buffer.from(SECRET);
    expect(rawOutput(w.db, "attacker")?.includes(secret) ?? false).toBe(false);
    for (const p of journalPayloads(w.db, "attacker")) expect(p.includes(secret)).toBe(false);
    expect(a.error ?? "").not.toContain(SECRET);
    expect(a.status).toBe("failed");
    expect(JSON.parse(a.error!)).toMatchObject({ code: "invalid_module" });
  });

  // Finding 2, each way of stopping a run. On the old code the driver spun on microtasks: no
  // message reached the thread, the watchdog saw no guest code running, and a restarted worker
  // claimed the run again and wedged too.
  describe("a forged module that would wedge its thread ends, whatever stops it", () => {
    const wedged = (extra: string[] = []) => {
      start(plain(w.dir), "wedge", extra);
      plant(w.db, "wedge", wedge(w.dir));
      start(plain(w.dir), "bystander");
    };
    const endsRefused = async () => {
      const r = await waitFor(
        "the wedge run ended",
        () => {
          const row = runIn(w.db, "wedge");
          return ["failed", "cancelled"].includes(row.status) && row;
        },
        30_000,
      );
      expect(JSON.parse(r.error!)).toMatchObject({ code: "invalid_module" });
      await waitFor("the bystander completed", () => runIn(w.db, "bystander").status === "completed", 30_000);
    };

    it("--timeout", async () => {
      wedged(["--timeout", "500"]);
      worker();
      await endsRefused();
    });

    it("the watchdog", async () => {
      wedged();
      worker(["--watchdog", "500"]);
      await endsRefused();
    });

    it("dwe cancel", async () => {
      wedged();
      worker();
      await waitFor("the wedge run claimed", () => runIn(w.db, "wedge").status !== "pending", 30_000);
      await dweAsync(["cancel", "wedge"], { cwd: w.dir, db: w.db });
      await waitFor("the wedge run ended", () => ["failed", "cancelled"].includes(runIn(w.db, "wedge").status), 30_000);
    });

    it("worker SIGTERM, and no restarted worker wedges on it again", async () => {
      wedged();
      const first = worker(["--grace", "500"]);
      await waitFor("the wedge run claimed", () => runIn(w.db, "wedge").status !== "pending", 30_000);
      expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      worker(["--grace", "500"]);
      await endsRefused();
    });
  });

  it("dwe cancel ends a guest looping in its own code soon, as cancelled, not at the watchdog", async () => {
    start(abiGuest(w.dir, "spin", { body: "(loop $forever (br $forever))" }), "spin");
    worker(); // the watchdog is 60 s
    await waitFor("the spin run claimed", () => runIn(w.db, "spin").status === "running", 30_000);
    const c = await dweAsync(["cancel", "spin"], { cwd: w.dir, db: w.db });
    expect(c.code, c.stderr).toBe(0);
    const r = await waitFor("the spin run cancelled", () => runIn(w.db, "spin").status === "cancelled" && runIn(w.db, "spin"), 30_000);
    expect(JSON.parse(r.error!)).toMatchObject({ code: "cancelled" });
  });

  describe("a genuine guest suspended at every call (sleep 0 in a loop) does not starve its thread", () => {
    it("dwe cancel stops it, and a run on the same thread completes meanwhile", async () => {
      start(sleepZeroLoop(w.dir), "looper");
      worker();
      await waitFor("the looper journaling", () => journalPayloads(w.db, "looper").length > 100, 30_000);
      start(plain(w.dir), "bystander");
      await waitFor("the bystander completed", () => runIn(w.db, "bystander").status === "completed", 30_000);
      const c = await dweAsync(["cancel", "looper"], { cwd: w.dir, db: w.db });
      expect(c.code, c.stderr).toBe(0);
      await waitFor("the looper cancelled", () => runIn(w.db, "looper").status === "cancelled", 30_000);
    });

    it("worker SIGTERM stops it at its next call, well within --grace", async () => {
      start(sleepZeroLoop(w.dir), "looper");
      const p = worker(["--grace", "60000"]);
      await waitFor("the looper journaling", () => journalPayloads(w.db, "looper").length > 100, 30_000);
      const t0 = Date.now();
      expect(await p.stop("SIGTERM")).toEqual({ code: 0, signal: null });
      // Stopped by the stop message, not by the 60 s grace and the thread's termination after it.
      expect(Date.now() - t0).toBeLessThan(30_000);
      expect(p.log()).not.toContain("given back (its thread was replaced)");
      expect(runIn(w.db, "looper").status).toBe("pending");
    });

    it("--timeout stops it", async () => {
      start(sleepZeroLoop(w.dir), "looper", ["--timeout", "500"]);
      worker();
      const r = await waitFor("the looper failed", () => runIn(w.db, "looper").status === "failed" && runIn(w.db, "looper"), 30_000);
      expect(JSON.parse(r.error!)).toMatchObject({ code: "timeout" });
    });
  });
});
