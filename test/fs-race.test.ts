// A directory swapped for a symlink that points out of the grant, again and again by a real
// concurrent process, while a guest reads (or creates) a file under it thousands of times: every
// read returns the file inside the grant or an error, never the file outside, and nothing is
// created outside (issue 11, item 7). Reads are checked on what the guest got, as journaled: the
// journal holds every result handed to the guest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { dweAsync, ROOT, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { wasiGuest, watModule } from "./support/wasi-wat.js";

/**
 * Swaps GRANT/d (a real directory) with GRANT/lnk (a symlink to OUTSIDE) by renames, as fast as it
 * can, until killed; prints "go" once it has swapped a first time.
 */
const SWAPPER = `
const { renameSync } = require("node:fs");
const g = process.argv[1];
let first = true;
for (;;) {
  try {
    renameSync(g + "/d", g + "/real");
    renameSync(g + "/lnk", g + "/d");
    renameSync(g + "/d", g + "/lnk");
    renameSync(g + "/real", g + "/d");
  } catch {}
  if (first) { first = false; process.stdout.write("go\\n"); }
}`;

/** Calls per guest: enough that the old check-then-open let 10 to 100 of them out. */
const CALLS = { abi: 6000, wasi: 6000, component: 3000, creates: 3000 };

/** `fs.read {path: "/data/d/f"}` n times. */
function abiReader(dir: string, n: number): string {
  return abiGuest(dir, "abi-reader", {
    data: { 0: "fs.read", 16: "\\81\\a4path\\a9/data/d/f" },
    body: `(local $i i32)
    (loop $l
      (drop (call $call (i32.const 0) (i32.const 7) (i32.const 16) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n}))))`,
  });
}

/** `fs.write {path: "/data/d/new", data: "x"}` n times. */
function abiWriter(dir: string, n: number): string {
  return abiGuest(dir, "abi-writer", {
    data: { 0: "fs.write", 16: "\\82\\a4path\\ab/data/d/new\\a4data\\c4\\01x" },
    body: `(local $i i32)
    (loop $l
      (drop (call $call (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 26)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n}))))`,
  });
}

/** WASI: path_open("d/new", O_CREAT, write) under fd 3, fd_close, n times. */
function wasiCreator(dir: string, n: number): string {
  return watModule(
    dir,
    "wasi-creator",
    wasiGuest(
      `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))`,
      `(data (i32.const 8192) "d/new")
  (func (export "_start") (local $i i32)
    (loop $l
      (if (i32.eqz (call $path_open (i32.const 3) (i32.const 1) (i32.const 8192) (i32.const 5) (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 8220)))
        (then (drop (call $fd_close (i32.load (i32.const 8220))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n})))))`,
    ),
  );
}

/** WASI: path_open("d/f") under fd 3, fd_read, fd_close, n times. */
function wasiReader(dir: string, n: number): string {
  return watModule(
    dir,
    "wasi-reader",
    wasiGuest(
      `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))`,
      `(data (i32.const 8192) "d/f")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 8200) (i32.const 8300))
    (i32.store (i32.const 8204) (i32.const 64))
    (loop $l
      (if (i32.eqz (call $path_open (i32.const 3) (i32.const 1) (i32.const 8192) (i32.const 3) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8220)))
        (then
          (drop (call $fd_read (i32.load (i32.const 8220)) (i32.const 8200) (i32.const 1) (i32.const 8210)))
          (drop (call $fd_close (i32.load (i32.const 8220))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n})))))`,
    ),
  );
}

const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");

/**
 * A WASI 0.2 component (a preview1 module made one by `jco new`): opens d/f once (again until it
 * succeeds), then reads it n times at offset 0. A component's descriptor is a path, so every read
 * looks the path up again through wasi:filesystem.
 */
function componentReader(dir: string, n: number): string {
  const module = watModule(
    dir,
    "pread-reader",
    wasiGuest(
      `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))`,
      `(data (i32.const 8192) "d/f")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 8200) (i32.const 8300))
    (i32.store (i32.const 8204) (i32.const 64))
    (block $opened (loop $again
      (br_if $opened (i32.eqz (call $path_open (i32.const 3) (i32.const 1) (i32.const 8192) (i32.const 3) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8220))))
      (br $again)))
    (loop $l
      (drop (call $fd_pread (i32.load (i32.const 8220)) (i32.const 8200) (i32.const 1) (i64.const 0) (i32.const 8210)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const ${n})))))`,
    ),
  );
  const out = join(dir, "component-reader.wasm");
  const made = spawnSync(process.execPath, [JCO, "new", module, "--wasi-command", "-o", out], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`jco new failed: ${made.stderr}`);
  return out;
}

describe("a symlink race cannot take a call out of its grant", () => {
  const w = workdir("dwe-fs-race-");
  const grant = join(w.dir, "grant");
  const outside = join(w.dir, "outside");
  let swapper: ChildProcess;

  beforeAll(async () => {
    mkdirSync(join(grant, "d"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(grant, "d", "f"), "INSIDE-DATA");
    writeFileSync(join(outside, "f"), "OUTSIDE-SECRET");
    symlinkSync(outside, join(grant, "lnk"));
    swapper = spawn(process.execPath, ["-e", SWAPPER, grant], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      swapper.stdout!.once("data", () => resolve());
      swapper.once("exit", () => reject(new Error("the swapper exited")));
    });
  });
  afterAll(() => {
    swapper.kill("SIGKILL");
    w.cleanup();
  });

  /** What the guest of run `id` got: results with the inside file, with the outside one, and refusals. */
  function outcomes(id: string): { inside: number; outside: number; refused: number } {
    const db = new Database(w.db, { readonly: true });
    try {
      const rows = db.prepare("SELECT j.payload AS p FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.id = ?").all(id) as {
        p: Buffer;
      }[];
      const count = (s: string) => rows.filter((r) => r.p.includes(s)).length;
      return { inside: count("INSIDE-DATA"), outside: count("OUTSIDE-SECRET"), refused: count("leads outside") };
    } finally {
      db.close();
    }
  }

  for (const [id, name, make, n] of [
    ["abi", "dwe ABI fs.read", abiReader, CALLS.abi],
    ["wasi", "WASI path_open + fd_read", wasiReader, CALLS.wasi],
    ["component", "component (wasi:filesystem) read", componentReader, CALLS.component],
  ] as const) {
    it(`${name}: ${n} reads while a process swaps the directory for a symlink out: none reads outside`, async () => {
      const r = await dweAsync(["run", make(w.dir, n), "--id", id, "--dir", `${grant}:/data`, "--quiet"], { cwd: w.dir, db: w.db });
      expect(r.code, r.stderr).toBe(0);
      const o = outcomes(id);
      expect(o.outside).toBe(0);
      // The race really ran: some reads found the directory, some found the symlink.
      expect(o.inside).toBeGreaterThan(0);
      expect(o.refused).toBeGreaterThan(0);
    }, 300_000);
  }

  for (const [id, name, make, n] of [
    ["abi-write", "dwe ABI fs.write", abiWriter, CALLS.creates],
    ["wasi-create", "WASI path_open with O_CREAT", wasiCreator, CALLS.creates],
  ] as const) {
    it(`${name}: ${n} creates of /data/d/new while a process swaps the directory: nothing is created outside`, async () => {
      rmSync(join(outside, "new"), { force: true });
      const r = await dweAsync(["run", make(w.dir, n), "--id", id, "--dir", `${grant}:/data`, "--quiet"], { cwd: w.dir, db: w.db });
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(join(outside, "new"))).toBe(false);
      expect(outcomes(id).refused).toBeGreaterThan(0);
    }, 300_000);
  }
});
