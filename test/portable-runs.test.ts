// `dwe export` / `dwe import`: a run crashed on one database continues on another (SQLite or
// PostgreSQL) and ends with the same output and logs as an uncrashed run, each completed effect
// done once overall; damaged, truncated, newer or duplicate files are refused with one line and
// no change to the target database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Packr } from "msgpackr";
import { dwe, dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { dumpDatabase } from "./support/database.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, waitFor } from "./support/worker.js";

const N = 5;
const pgEnabled = await pgTestsEnabled("portable runs");
const TABLES = ["modules", "runs", "journal", "logs", "signals"];

describe("portable runs: dwe export, dwe import, dwe resume elsewhere", () => {
  const dirs: ReturnType<typeof workdir>[] = [];
  let server: CountingServer;
  let url: string;
  let pg: TestDatabase | null = null;
  let schemas = 0;

  beforeAll(async () => {
    server = new CountingServer();
    url = await server.start();
    if (pgEnabled) pg = await createTestDatabase();
  });
  afterAll(async () => {
    await server.stop();
    await pg?.drop();
    for (const d of dirs) d.cleanup();
  });

  const dir = () => {
    const d = workdir("dwe-port-");
    dirs.push(d);
    return d;
  };
  const pgDb = () => `${pg!.url}?schema=p${++schemas}`;
  const input = () => JSON.stringify({ url, n: N, sleep_ms: 1000 });
  const runArgs = (id: string) => [
    "run",
    WORKER_WASM,
    "--entry",
    "steps",
    "--id",
    id,
    "--allow-net",
    "127.0.0.1",
    "--input",
    input(),
    "--quiet",
  ];
  const bodiesOf = (id: string, from = 0) =>
    server.received
      .slice(from)
      .filter((r) => r.key?.startsWith(`${id}:`))
      .map((r) => r.body);
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => String(a + i));

  /** Imports `file` into `db` and resumes the run there; returns the output and what was sent meanwhile. */
  async function importAndResume(file: string, db: string, cwd: string, id: string) {
    const imp = dwe(["import", file, "--grant"], { cwd, db });
    expect(imp.stderr).toBe("");
    expect(imp.code).toBe(0);
    expect(imp.stdout).toContain(`imported run ${id}`);
    const from = server.received.length;
    const resumed = await dweAsync(["resume", id, "--quiet"], { cwd, db });
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const logs = dwe(["logs", id], { cwd, db }).stdout;
    return { output: resumed.stdout.trim(), logs, sent: bodiesOf(id, from) };
  }

  it("a run SIGKILLed on SQLite resumes from its export on a fresh SQLite, on PostgreSQL, and back from PostgreSQL to SQLite", async () => {
    // The uncrashed reference.
    const ref = dir();
    const base = await dweAsync(runArgs("ref"), { cwd: ref.dir, db: ref.db });
    expect(base.code).toBe(0);
    const refOutput = base.stdout.trim();
    expect(JSON.parse(refOutput)).toEqual({ steps: N });
    const refLogs = dwe(["logs", "ref"], { cwd: ref.dir, db: ref.db }).stdout;
    expect(bodiesOf("ref")).toEqual(range(0, N));

    // The crash: SIGKILL inside the sleep after the second step.
    const a = dir();
    const child = spawnDwe(runArgs("p1"), { cwd: a.dir, db: a.db });
    await waitFor("two steps", () => bodiesOf("p1").length >= 2);
    await delay(200);
    child.kill("SIGKILL");
    await exited(child);
    const show = JSON.parse(dwe(["show", "p1", "--json"], { cwd: a.dir, db: a.db }).stdout) as {
      status: string;
      journal: { byOp: Record<string, number>; intents: number };
    };
    expect(show.status).toBe("running");
    // Killed inside a sleep: every request sent was answered and journaled (the one intent is the sleep's).
    const done = bodiesOf("p1").length;
    expect(show.journal.byOp["http.request"]).toBe(done);
    expect(show.journal.intents).toBe(1);
    const file = join(a.dir, "p1.dwe");
    const exp = dwe(["export", "p1", "-o", file], { cwd: a.dir, db: a.db });
    expect(exp.stderr).toBe("");
    expect(exp.code).toBe(0);
    // The same bytes on stdout as with -o (but for the export time, which is inside the body).
    const viaStdout = dwe(["export", "p1"], { cwd: a.dir, db: a.db });
    expect(viaStdout.code).toBe(0);

    // SQLite -> fresh SQLite in another directory.
    const b = dir();
    const onB = await importAndResume(file, b.db, b.dir, "p1");
    expect(onB.output).toBe(refOutput);
    expect(onB.logs).toBe(refLogs);
    expect(onB.sent).toEqual(range(done, N)); // completed steps are not repeated

    if (!pgEnabled) return;
    // SQLite -> PostgreSQL, and PostgreSQL -> SQLite (exported from PostgreSQL before it resumed there).
    const c = dir();
    const pgLocation = pgDb();
    expect(dwe(["import", file, "--grant"], { cwd: c.dir, db: pgLocation }).code).toBe(0);
    const file2 = join(c.dir, "p1-from-pg.dwe");
    expect(dwe(["export", "p1", "-o", file2], { cwd: c.dir, db: pgLocation }).code).toBe(0);
    const from = server.received.length;
    const resumedPg = await dweAsync(["resume", "p1", "--quiet"], { cwd: c.dir, db: pgLocation });
    expect(resumedPg.stderr).toBe("");
    expect(resumedPg.stdout.trim()).toBe(refOutput);
    expect(dwe(["logs", "p1"], { cwd: c.dir, db: pgLocation }).stdout).toBe(refLogs);
    expect(bodiesOf("p1", from)).toEqual(range(done, N));

    const d = dir();
    const onD = await importAndResume(file2, d.db, d.dir, "p1");
    expect(onD.output).toBe(refOutput);
    expect(onD.logs).toBe(refLogs);
    expect(onD.sent).toEqual(range(done, N));
  });

  it("refuses an existing run id, a bad checksum, a truncated file, a newer version and a foreign file: one line, nothing changed", async () => {
    const a = dir();
    const r = await dweAsync(
      [
        "run",
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "r1",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url, n: 1 }),
        "--quiet",
      ],
      {
        cwd: a.dir,
        db: a.db,
      },
    );
    expect(r.code).toBe(0);
    const file = join(a.dir, "r1.dwe");
    expect(dwe(["export", "r1", "-o", file], { cwd: a.dir, db: a.db }).code).toBe(0);
    const good = readFileSync(file);

    const variants: [string, Uint8Array, RegExp][] = [];
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
    variants.push(["checksum", flipped, /is damaged: its checksum does not match/]);
    variants.push(["truncated", good.subarray(0, good.length - 100), /truncated or damaged/]);
    const packr = new Packr({ useRecords: false });
    const outer = packr.unpack(good) as Record<string, unknown>;
    variants.push(["newer", packr.pack({ ...outer, version: 3 }), /newer dwe \(run file version 3/]);
    variants.push(["older", packr.pack({ ...outer, version: 1 }), /older dwe \(run file version 1, without journal checksums\)/]);
    variants.push(["foreign", Buffer.from("SQLite format 3\0 not a run file"), /not a dwe run file/]);
    variants.push(["empty", Buffer.alloc(0), /not a dwe run file/]);

    // Into a fresh directory: refused, and no database is even created.
    const fresh = dir();
    for (const [name, bytes, message] of variants) {
      const f = join(fresh.dir, `${name}.dwe`);
      writeFileSync(f, bytes);
      const out = dwe(["import", f], { cwd: fresh.dir, db: fresh.db });
      expect(out.code, name).toBe(2);
      expect(out.stderr, name).toMatch(message);
      expect(out.stderr.trim().split("\n"), name).toHaveLength(1);
    }
    expect(existsSync(fresh.db)).toBe(false);

    // Into a database that holds r1 already: refused, the database unchanged.
    const target = dir();
    expect(dwe(["import", file], { cwd: target.dir, db: target.db }).code).toBe(0);
    const before = dumpDatabase(target.db, TABLES);
    const again = dwe(["import", file], { cwd: target.dir, db: target.db });
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^dwe: error: a run with id 'r1' already exists in .*; nothing was imported$/);
    for (const [name, bytes] of variants) {
      const f = join(target.dir, `${name}.dwe`);
      writeFileSync(f, bytes);
      expect(dwe(["import", f], { cwd: target.dir, db: target.db }).code, name).toBe(2);
    }
    expect(dumpDatabase(target.db, TABLES)).toEqual(before);

    if (!pgEnabled) return;
    const pgLocation = pgDb();
    expect(dwe(["import", file], { cwd: target.dir, db: pgLocation }).code).toBe(0);
    const count = async () =>
      (
        await sql(
          pg!.url,
          `SELECT (SELECT COUNT(*) FROM runs)::int AS runs, (SELECT COUNT(*) FROM journal)::int AS journal`,
          [],
          `p${schemas}`,
        )
      ).rows[0] as { runs: number; journal: number };
    const pgBefore = await count();
    const dup = dwe(["import", file], { cwd: target.dir, db: pgLocation });
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/already exists/);
    expect(await count()).toEqual(pgBefore);
    expect(pgBefore).toMatchObject({ runs: 1 });
  });

  it("refuses to export a run that a live process is executing", async () => {
    const a = dir();
    let release!: () => void;
    server.hold = () => new Promise<void>((r) => (release = r));
    const child = spawnDwe(
      ["run", WORKER_WASM, "--entry", "steps", "--id", "live", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url, n: 1 })],
      {
        cwd: a.dir,
        db: a.db,
      },
    );
    try {
      await waitFor("the request", () => bodiesOf("live").length === 1);
      const out = dwe(["export", "live", "-o", join(a.dir, "live.dwe")], { cwd: a.dir, db: a.db });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/is being executed by .*stop that process/);
      expect(existsSync(join(a.dir, "live.dwe"))).toBe(false);
    } finally {
      server.hold = () => Promise.resolve();
      release();
      await exited(child);
    }
  });
});
