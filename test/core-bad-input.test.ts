// Bad input of every kind gets one clear line on stderr, a non-zero exit, and leaves the
// database as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { dwe, example, workdir } from "./support/cli.js";
import { dumpDatabase } from "./support/database.js";
import { writeWat } from "./support/wat.js";

function errorLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^dwe: error: /);
  return lines[0]!;
}

describe("bad input", () => {
  const w = workdir();
  const cli = (args: string[], db = w.db) => dwe(args, { cwd: w.dir, db });
  let before: Record<string, unknown[]>;

  beforeAll(() => {
    expect(cli(["run", example("hello"), "--id", "ok"]).code).toBe(0);
    before = dumpDatabase(w.db, ["runs", "journal", "logs", "modules"]);
  });
  afterAll(() => w.cleanup());

  const unchanged = () => expect(dumpDatabase(w.db, ["runs", "journal", "logs", "modules"])).toEqual(before);

  it("a file that is not Wasm", () => {
    const f = join(w.dir, "notes.wasm");
    writeFileSync(f, "hello, I am text\n");
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain(`${f} is not a WebAssembly file`);
    unchanged();
  });

  it("a truncated Wasm module", () => {
    const bytes = readFileSync(example("hello"));
    const f = join(w.dir, "truncated.wasm");
    writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/truncated\.wasm is not a valid WebAssembly module/);
    unchanged();
  });

  it("a module that imports something dwe does not provide", () => {
    const f = writeWat(
      join(w.dir, "unknown-import.wasm"),
      `(module (import "os" "system" (func (param i32))) (memory (export "memory") 1) (func (export "run")))`,
    );
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("imports function os.system, which dwe does not provide");
    unchanged();
  });

  it("a module without an entry point", () => {
    const f = writeWat(join(w.dir, "no-entry.wasm"), `(module (memory (export "memory") 1) (func (export "other")))`);
    const r = cli(["run", f]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("exports neither 'run' nor '_start'");
    unchanged();
  });

  it("a module whose initial memory is over --max-memory is refused before a run exists", () => {
    const f = writeWat(join(w.dir, "big-memory.wasm"), `(module (memory (export "memory") 100) (func (export "run")))`);
    const r = cli(["run", f, "--max-memory", "1M"]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("needs 100 pages of memory at start, over the limit of 16 pages");
    unchanged();
  });

  it("a run id that is taken is refused without storing anything", () => {
    const f = writeWat(join(w.dir, "fresh.wasm"), `(module (memory (export "memory") 1) (func (export "run") (nop)))`);
    const r = cli(["run", f, "--id", "ok"]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("a run with id 'ok' already exists");
    unchanged();
  });

  it("a missing module file", () => {
    const r = cli(["run", join(w.dir, "nope.wasm")]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("no such file");
    unchanged();
  });

  it("an unknown run id", () => {
    for (const verb of ["resume", "show", "logs"]) {
      const r = cli([verb, "no-such-run"]);
      expect(r.code).toBe(2);
      expect(errorLine(r.stderr)).toContain("no run with id 'no-such-run'");
    }
    unchanged();
  });

  it("resuming a completed run", () => {
    const r = cli(["resume", "ok"]);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("run ok is completed");
    unchanged();
  });

  it("malformed flags", () => {
    const cases: [string[], RegExp][] = [
      [["run", example("hello"), "--allow-net", "bad host!"], /bad --allow-net entry 'bad host!'/],
      [["run", example("hello"), "--dir", "data:relative"], /guest path 'relative' must be absolute/],
      // --dir is checked at start: a missing path or a file is refused before anything is written.
      [["run", example("hello"), "--dir", "no-such-dir:/data"], /bad --dir 'no-such-dir:\/data': .*no-such-dir does not exist/],
      [["run", example("hello"), "--dir", `${example("hello")}::/data`], /bad --dir .*hello\.wasm is not a directory/],
      [["run", example("hello"), "--id", "../x"], /bad run id/],
      [["run", example("hello"), "--timeout", "soon"], /bad --timeout 'soon'/],
      [["run", example("hello"), "--max-memory", "lots"], /bad --max-memory 'lots'/],
      [["run", example("hello"), "--env", "NOEQUALS"], /bad --env 'NOEQUALS'/],
      [["runs", "--status", "sleeping"], /bad --status 'sleeping'/],
      [["--durability", "maybe", "runs"], /bad --durability 'maybe'/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(errorLine(r.stderr)).toMatch(re);
    }
    unchanged();
  });

  it("a database file that is not SQLite is refused and left byte for byte as it was", () => {
    const db = join(w.dir, "garbage.db");
    const junk = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251));
    writeFileSync(db, junk);
    for (const args of [["runs"], ["run", example("hello")], ["show", "x"]]) {
      const r = cli(args, db);
      expect(r.code).toBe(2);
      expect(errorLine(r.stderr)).toContain(`${db} is not a dwe database`);
    }
    expect(readFileSync(db).equals(junk)).toBe(true);
  });

  it("an SQLite database of another program is refused and not modified", () => {
    const db = join(w.dir, "other.db");
    const other = new Database(db);
    other.exec("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')");
    other.close();
    const bytes = readFileSync(db);
    const r = cli(["run", example("hello")], db);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("is an SQLite database but not a dwe database");
    expect(readFileSync(db).equals(bytes)).toBe(true);
    expect(existsSync(`${db}-wal`)).toBe(false);
  });

  it("a database from a newer dwe is refused", () => {
    const db = join(w.dir, "newer.db");
    expect(cli(["run", example("hello")], db).code).toBe(0);
    const raw = new Database(db);
    raw.prepare("UPDATE dwe_meta SET value = '999' WHERE key = 'schema_version'").run();
    raw.close();
    const r = cli(["runs"], db);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/written by a newer dwe \(schema 999/);
  });

  it("read-only commands do not create a database (dwe runs lists none there)", () => {
    const db = join(w.dir, "absent", "dwe.db");
    const r = cli(["show", "x"], db);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toContain("no dwe database at");
    expect(cli(["runs", "--json"], db).stdout).toBe("[]\n");
    expect(existsSync(db)).toBe(false);
  });
});
