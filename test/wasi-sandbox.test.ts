// WASI path confinement: a guest reaching out of its granted directory with `..`, an absolute path
// or a symlink pointing out gets an errno (ENOTCAPABLE), never the file; a write under a read-only
// grant gets EROFS; a wild pointer gets EFAULT. Guests are hand-written WAT (no Rust toolchain).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dwe, workdir } from "./support/cli.js";
import { wasiGuest, watModule } from "./support/wasi-wat.js";

const ENOENT = 44;
const ENOTCAPABLE = 76;
const EROFS = 69;
const EFAULT = 21;

/**
 * argv[1] is a mode, the rest are paths relative to fd 3 (the first grant). Prints each call's errno;
 * for an open that succeeds, also what it reads. Modes: o open+read, c create, s stat, m mkdir,
 * u unlink, f open with a path pointer outside memory.
 */
const PROBE = wasiGuest(
  `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))`,
  `(func (export "_start")
    (local $n i32) (local $i i32) (local $p i32) (local $l i32) (local $mode i32) (local $e i32)
    (local.set $n (call $argc))
    (local.set $mode (i32.load8_u (call $arg (i32.const 1))))
    (local.set $i (i32.const 2))
    (block $end (loop $next
      (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (call $arg (local.get $i)))
      (local.set $l (call $strlen (local.get $p)))
      (local.set $e (i32.const 999))
      (if (i32.eq (local.get $mode) (i32.const 102))
        (then (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const -16) (local.get $l) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))))
      (if (i32.eq (local.get $mode) (i32.const 111))
        (then (local.set $e (call $path_open (i32.const 3) (i32.const 1) (local.get $p) (local.get $l) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))))
      (if (i32.eq (local.get $mode) (i32.const 99))
        (then (local.set $e (call $path_open (i32.const 3) (i32.const 1) (local.get $p) (local.get $l) (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200)))))
      (if (i32.eq (local.get $mode) (i32.const 115))
        (then (local.set $e (call $stat (i32.const 3) (i32.const 1) (local.get $p) (local.get $l) (i32.const 256)))))
      (if (i32.eq (local.get $mode) (i32.const 109))
        (then (local.set $e (call $mkdir (i32.const 3) (local.get $p) (local.get $l)))))
      (if (i32.eq (local.get $mode) (i32.const 117))
        (then (local.set $e (call $unlink (i32.const 3) (local.get $p) (local.get $l)))))
      (call $printNum (local.get $e))
      (if (i32.and (i32.eqz (local.get $e)) (i32.eq (local.get $mode) (i32.const 111)))
        (then
          (i32.store (i32.const 8) (i32.const 8192))
          (i32.store (i32.const 12) (i32.const 256))
          (drop (call $fd_read (i32.load (i32.const 200)) (i32.const 8) (i32.const 1) (i32.const 24)))
          (call $println (i32.const 8192) (i32.load (i32.const 24)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))`,
);

describe("WASI sandbox: no path leaves its grant", () => {
  let w: ReturnType<typeof workdir>;
  let probe: string;
  const grant = () => join(w.dir, "grant");
  const outside = () => join(w.dir, "outside");

  beforeAll(() => {
    w = workdir("dwe-wasi-sandbox-");
    probe = watModule(w.dir, "probe", PROBE);
    mkdirSync(join(grant(), "sub"), { recursive: true });
    mkdirSync(outside());
    mkdirSync(join(w.dir, "ro"));
    writeFileSync(join(grant(), "inside.txt"), "inside-data");
    writeFileSync(join(outside(), "secret.txt"), "TOP-SECRET");
    writeFileSync(join(w.dir, "ro", "r.txt"), "read-only-data");
    symlinkSync("../outside", join(grant(), "link")); // a directory symlink pointing out
    symlinkSync(join(outside(), "secret.txt"), join(grant(), "flink")); // a file symlink pointing out (absolute)
    symlinkSync("inside.txt", join(grant(), "good-link")); // a symlink that stays inside
  });
  afterAll(() => w.cleanup());

  /** Runs the probe with the first grant at /data; returns its stdout lines (from `dwe logs`) and the run. */
  function probeRun(args: string[], dirs = [`${grant()}:/data`]): { lines: string[]; all: string; code: number | null } {
    const id = `p${Math.random().toString(36).slice(2, 10)}`;
    const r = dwe(["run", probe, "--id", id, ...dirs.flatMap((d) => ["--dir", d]), "--", ...args], { cwd: w.dir, db: w.db });
    const logs = dwe(["logs", id], { cwd: w.dir, db: w.db });
    const shown = dwe(["show", id, "--json"], { cwd: w.dir, db: w.db });
    return { lines: logs.stdout.trim().split("\n"), all: r.stdout + r.stderr + logs.stdout + shown.stdout, code: r.code };
  }

  it("opens and reads a file inside the grant, also through a symlink that stays inside", () => {
    const r = probeRun(["o", "inside.txt", "./sub/../inside.txt", "good-link"]);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(["0", "inside-data", "0", "inside-data", "0", "inside-data"]);
  });

  it("refuses .., absolute paths and symlinks pointing out, and leaks nothing", () => {
    const r = probeRun([
      "o",
      "../outside/secret.txt",
      "sub/../../outside/secret.txt",
      "/etc/passwd",
      join(outside(), "secret.txt"),
      "link/secret.txt",
      "flink",
      "link",
    ]);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(Array(7).fill(String(ENOTCAPABLE)));
    expect(r.all).not.toContain("TOP-SECRET");
    expect(r.all).not.toContain("root:");
  });

  it("refuses stat, mkdir, create and unlink outside the grant, and nothing changes outside", () => {
    expect(probeRun(["s", "../outside/secret.txt", "link/secret.txt", "flink", "/etc"]).lines).toEqual(Array(4).fill(String(ENOTCAPABLE)));
    expect(probeRun(["m", "../outside/d1", "link/d2"]).lines).toEqual(Array(2).fill(String(ENOTCAPABLE)));
    expect(probeRun(["c", "../outside/new.txt", "link/new.txt"]).lines).toEqual(Array(2).fill(String(ENOTCAPABLE)));
    expect(probeRun(["u", "link/secret.txt", "../outside/secret.txt"]).lines).toEqual(Array(2).fill(String(ENOTCAPABLE)));
    // Unlinking a symlink that points out removes the link, in the grant, never what it points to.
    symlinkSync(join(outside(), "secret.txt"), join(grant(), "flink2"));
    expect(probeRun(["u", "flink2"]).lines).toEqual(["0"]);
    expect(existsSync(join(grant(), "flink2"))).toBe(false);
    expect(existsSync(join(outside(), "d1"))).toBe(false);
    expect(existsSync(join(outside(), "d2"))).toBe(false);
    expect(existsSync(join(outside(), "new.txt"))).toBe(false);
    expect(readFileSync(join(outside(), "secret.txt"), "utf8")).toBe("TOP-SECRET");
  });

  it("creates, stats and removes inside the grant; a missing file is ENOENT", () => {
    expect(probeRun(["c", "made.txt"]).lines).toEqual(["0"]);
    expect(existsSync(join(grant(), "made.txt"))).toBe(true);
    expect(probeRun(["s", "made.txt", "missing.txt"]).lines).toEqual(["0", String(ENOENT)]);
    expect(probeRun(["u", "made.txt"]).lines).toEqual(["0"]);
    expect(existsSync(join(grant(), "made.txt"))).toBe(false);
  });

  it("a read-only grant can be read but not written (EROFS)", () => {
    const ro = [`${join(w.dir, "ro")}:/ro:ro`];
    expect(probeRun(["o", "r.txt"], ro).lines).toEqual(["0", "read-only-data"]);
    expect(probeRun(["c", "new.txt"], ro).lines).toEqual([String(EROFS)]);
    expect(probeRun(["m", "d"], ro).lines).toEqual([String(EROFS)]);
    expect(probeRun(["u", "r.txt"], ro).lines).toEqual([String(EROFS)]);
    expect(existsSync(join(w.dir, "ro", "new.txt"))).toBe(false);
    expect(existsSync(join(w.dir, "ro", "r.txt"))).toBe(true);
  });

  it("a path pointer outside guest memory is EFAULT, not a crash", () => {
    const r = probeRun(["f", "inside.txt"]);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([String(EFAULT)]);
  });

  it("without any --dir there is no preopen: fd 3 is EBADF", () => {
    expect(probeRun(["o", "inside.txt"], []).lines).toEqual(["8"]);
  });
});
