// Bad files beyond test/core-bad-input.test.ts: a corrupted (not truncated) module, a damaged
// SQLite file, and journal rows whose payload or columns were altered. Each gets one line naming
// the file or run (and seq) and what to do, a non-zero exit, and the database is left unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { dwe, example, workdir } from "./support/cli.js";
import { dumpDatabase } from "./support/database.js";
import { abiGuest } from "./support/guest-wat.js";
import { digestRequest, entryChecksum } from "../engine/journal/hash.js";

const TABLES = ["runs", "journal", "logs", "modules", "signals"];

function oneLine(stderr: string, prefix = /^dwe: /): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(prefix);
  return lines[0]!;
}

/** Offset and size of the first section with this id in a module. */
function section(bytes: Uint8Array, id: number): { start: number; size: number } {
  let pos = 8;
  while (pos < bytes.length) {
    const sid = bytes[pos]!;
    let size = 0;
    let shift = 0;
    let p = pos + 1;
    for (;;) {
      const b = bytes[p++]!;
      size |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (sid === id) return { start: p, size };
    pos = p + size;
  }
  throw new Error(`no section ${id}`);
}

describe("bad files", () => {
  const w = workdir();
  const cli = (args: string[], db = w.db) => dwe(args, { cwd: w.dir, db });
  let sleeper: string;

  beforeAll(() => {
    // clock.now, log "hi", then a sleep of an hour: with --suspend-after 1000 the run suspends
    // with three journal entries and stays resumable.
    sleeper = abiGuest(w.dir, "sleeper", {
      data: { 0: "clock.now", 16: "log", 32: "sleep", 48: "\\81\\a7message\\a2hi", 64: "\\81\\a2ms\\ce\\00\\36\\ee\\80" },
      body: `(drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
             (drop (call $call (i32.const 16) (i32.const 3) (i32.const 48) (i32.const 12)))
             (drop (call $call (i32.const 32) (i32.const 5) (i32.const 64) (i32.const 9)))`,
    });
  });
  afterAll(() => w.cleanup());

  function suspendedRun(id: string): void {
    const r = cli(["run", sleeper, "--id", id, "--suspend-after", "1000", "--quiet"]);
    expect(r.code, r.stderr).toBe(75);
    const v = cli(["verify", id]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(`run ${id}: intact and deterministic`);
  }

  function alter(sql: string, ...params: unknown[]): void {
    const db = new Database(w.db);
    try {
      expect(db.prepare(sql).run(...params).changes).toBe(1);
    } finally {
      db.close();
    }
  }

  it("a corrupted (not truncated) module: bytes overwritten in its code section", () => {
    const bytes = new Uint8Array(readFileSync(example("hello")));
    const code = section(bytes, 10);
    bytes.fill(0xff, code.start + 4, code.start + Math.min(code.size, 64));
    const f = join(w.dir, "corrupted.wasm");
    writeFileSync(f, bytes);
    expect(cli(["run", example("hello"), "--id", "first"]).code).toBe(0);
    const before = dumpDatabase(w.db, TABLES);
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toMatch(/corrupted\.wasm is not a valid WebAssembly module: .*; rebuild it/);
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a module with a valid header and garbage after it", () => {
    const f = join(w.dir, "garbage.wasm");
    writeFileSync(f, Buffer.concat([Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), Buffer.alloc(256, 0x5a)]));
    const before = dumpDatabase(w.db, TABLES);
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toContain("garbage.wasm is not a valid WebAssembly module");
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a journal row whose payload was altered: resume and verify name the run and seq, and change nothing", () => {
    suspendedRun("flipped");
    // Flip one bit of the clock reading (seq 1).
    const db = new Database(w.db);
    const row = db.prepare("SELECT j.payload FROM journal j JOIN runs r USING (rid) WHERE r.id = 'flipped' AND j.seq = 1").get() as {
      payload: Buffer;
    };
    const payload = Buffer.from(row.payload);
    payload[payload.length - 1]! ^= 0x01;
    db.close();
    alter("UPDATE journal SET payload = ? WHERE seq = 1 AND rid = (SELECT rid FROM runs WHERE id = 'flipped')", payload);
    const before = dumpDatabase(w.db, TABLES);

    const r = cli(["resume", "flipped"]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toMatch(
      /run flipped: journal entry seq 1 \(clock\.now\) fails its checksum: the database .* was damaged; nothing was run or changed\. Restore the database from a backup/,
    );
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);

    const v = cli(["verify", "flipped"]);
    expect(v.code).toBe(1);
    expect(oneLine(v.stderr)).toMatch(
      /^dwe: run flipped failed verification \(journal damaged\): run flipped: journal entry seq 1 \(clock\.now\) fails its checksum/,
    );
    const json = JSON.parse(cli(["verify", "flipped", "--json"]).stdout) as { intact: boolean; outcome: string; seq: number };
    expect(json).toMatchObject({ intact: false, outcome: "corrupt", seq: 1 });
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a journal row whose state column was altered (an intent made done)", () => {
    suspendedRun("state");
    alter("UPDATE journal SET state = 2 WHERE seq = 2 AND rid = (SELECT rid FROM runs WHERE id = 'state')");
    const before = dumpDatabase(w.db, TABLES);
    const r = cli(["resume", "state"]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toContain("run state: journal entry seq 2 (log) fails its checksum");
    expect(cli(["verify", "state"]).code).toBe(1);
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a journal with a row missing (a gap)", () => {
    suspendedRun("gap");
    alter("DELETE FROM journal WHERE seq = 2 AND rid = (SELECT rid FROM runs WHERE id = 'gap')");
    const before = dumpDatabase(w.db, TABLES);
    const r = cli(["resume", "gap"]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toContain("run gap: the journal has a gap (expected seq 2, found seq 3)");
    const v = cli(["verify", "gap"]);
    expect(v.code).toBe(1);
    expect(oneLine(v.stderr)).toContain("expected seq 2, found seq 3");
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a journal rewritten consistently (checksum recomputed) to record another call: verify reports divergence", () => {
    suspendedRun("forged");
    // Seq 2 now claims a different request digest for `log`, with a valid checksum.
    const db = new Database(w.db);
    const row = db
      .prepare("SELECT j.rid, j.op, j.state, j.payload FROM journal j JOIN runs r USING (rid) WHERE r.id = 'forged' AND j.seq = 2")
      .get() as {
      rid: number;
      op: number;
      state: number;
      payload: Buffer;
    };
    db.close();
    const digest = digestRequest(row.op, new TextEncoder().encode("something else"));
    alter(
      "UPDATE journal SET digest = ?, sum = ? WHERE rid = ? AND seq = 2",
      digest,
      entryChecksum(2, row.op, digest, row.state, row.payload),
      row.rid,
    );
    const before = dumpDatabase(w.db, TABLES);
    const v = cli(["verify", "forged"]);
    expect(v.code).toBe(1);
    expect(oneLine(v.stderr)).toMatch(
      /^dwe: run forged failed verification \(not deterministic\): run forged diverged from its journal at seq 2/,
    );
    const json = JSON.parse(cli(["verify", "forged", "--json"]).stdout) as {
      intact: boolean;
      deterministic: boolean;
      outcome: string;
      seq: number;
      replayed: number;
    };
    expect(json).toMatchObject({ intact: true, deterministic: false, outcome: "diverged", seq: 2, replayed: 1 });
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });

  it("a damaged SQLite file (second half overwritten) is refused with one line naming it", () => {
    const db = join(w.dir, "damaged.db");
    expect(cli(["run", example("hello"), "--id", "d1"], db).code).toBe(0);
    const raw = new Database(db);
    raw.pragma("wal_checkpoint(TRUNCATE)");
    raw.close();
    const bytes = readFileSync(db);
    bytes.fill(0xa5, Math.floor(bytes.length / 4));
    writeFileSync(db, bytes);
    const copy = Buffer.from(bytes);
    for (const args of [["runs"], ["show", "d1"], ["verify", "d1"], ["run", example("hello")]]) {
      const r = cli(args, db);
      expect(r.code, args.join(" ")).toBe(2);
      expect(oneLine(r.stderr, /^dwe: error: /)).toContain(db);
    }
    expect(readFileSync(db).equals(copy)).toBe(true);
  });

  it("verify of a run that is not there, and of a healthy completed run", () => {
    const r = cli(["verify", "nope"]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr, /^dwe: error: /)).toContain("no run with id 'nope'");
    const before = dumpDatabase(w.db, TABLES);
    const v = cli(["verify", "first", "--json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      run: "first",
      status: "completed",
      intact: true,
      deterministic: true,
      outcome: "returned",
    });
    expect(dumpDatabase(w.db, TABLES)).toEqual(before);
  });
});
