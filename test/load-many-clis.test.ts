// Load: many CLI processes at once on one database (runs started, signals sent, shows and lists
// read, resumes): none reports "database is locked" (or any unhandled error), and no write is lost.
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { dweAsync, example, workdir, type CliResult } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";

const RUNS = 10;

describe("many CLI processes on one database", () => {
  it("run, resume, signal, show, logs and runs at once: no lock errors, no lost writes", async () => {
    const w = workdir();
    try {
      const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
      // Pending runs to resume and to signal (created, not executed).
      expect((await cli(["run", example("hello"), "--id", "seed"])).code).toBe(0);
      // A guest that logs then sleeps an hour: it suspends, and takes signals meanwhile.
      const sleeper = abiGuest(w.dir, "sleeper", {
        data: { 0: "log", 16: "sleep", 32: "\\81\\a7message\\a2hi", 48: "\\81\\a2ms\\ce\\00\\36\\ee\\80" },
        body: `(drop (call $call (i32.const 0) (i32.const 3) (i32.const 32) (i32.const 12)))
               (drop (call $call (i32.const 16) (i32.const 5) (i32.const 48) (i32.const 9)))`,
      });
      const detached = await Promise.all(
        Array.from({ length: RUNS }, (_, i) => cli(["run", example("hello"), "--detach", "--id", `d${i}`])),
      );
      for (const r of detached) expect(r.code, r.stderr).toBe(0);

      const jobs: Promise<CliResult & { what: string }>[] = [];
      const job = (what: string, args: string[]) => jobs.push(cli(args).then((r) => ({ ...r, what })));
      for (let i = 0; i < RUNS; i++) {
        job(`run r${i}`, ["run", example("hello"), "--id", `r${i}`, "--quiet"]);
        job(`run s${i}`, ["run", sleeper, "--id", `s${i}`, "--quiet", "--suspend-after", "100"]);
        job(`resume d${i}`, ["resume", `d${i}`, "--quiet"]);
        job(`show seed ${i}`, ["show", "seed", "--json"]);
        if (i % 2 === 0) job(`runs ${i}`, ["runs", "--json"]);
        if (i % 4 === 0) job(`logs seed ${i}`, ["logs", "seed"]);
      }
      const results = await Promise.all(jobs);
      const signals: Promise<CliResult & { what: string }>[] = [];
      // Signals (where this dwe has `dwe signal`) and verifies against the suspended runs, all at once.
      const hasSignal = (await cli(["signal", "--help"])).code === 0;
      for (let i = 0; i < RUNS; i++) {
        if (hasSignal) signals.push(cli(["signal", `s${i}`, "go", "--data", String(i)]).then((r) => ({ ...r, what: `signal s${i}` })));
        signals.push(cli(["verify", `s${i}`]).then((r) => ({ ...r, what: `verify s${i}` })));
        signals.push(cli(["show", `s${i}`, "--json"]).then((r) => ({ ...r, what: `show s${i}` })));
      }
      results.push(...(await Promise.all(signals)));

      for (const r of results) {
        expect(r.stderr, r.what).not.toMatch(/database is locked|SQLITE_BUSY|internal/i);
        const expected = r.what.startsWith("run s") ? 75 : 0;
        expect(r.code, `${r.what}: ${r.stderr}`).toBe(expected);
      }

      // No write lost: every run is there, in the state its command reported, with its journal.
      const db = new Database(w.db, { readonly: true });
      try {
        const status = new Map(
          (db.prepare("SELECT id, status FROM runs").all() as { id: string; status: string }[]).map((r) => [r.id, r.status]),
        );
        expect(status.size).toBe(1 + 3 * RUNS);
        for (let i = 0; i < RUNS; i++) {
          expect(status.get(`r${i}`)).toBe("completed");
          expect(status.get(`d${i}`)).toBe("completed");
          expect(status.get(`s${i}`)).toBe("suspended");
        }
        const entries = db.prepare("SELECT r.id, COUNT(j.seq) AS n FROM runs r LEFT JOIN journal j USING (rid) GROUP BY r.id").all() as {
          id: string;
          n: number;
        }[];
        for (const e of entries) expect(e.n, e.id).toBe(e.id.startsWith("s") ? 2 : 2);
        if (hasSignal) expect(db.prepare("SELECT COUNT(*) FROM signals").pluck().get() as number).toBe(RUNS);
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        db.close();
      }
    } finally {
      w.cleanup();
    }
  });
});
