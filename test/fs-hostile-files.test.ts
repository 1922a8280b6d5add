// Hostile files and paths against the confined file system (issue 11, items 8–11): huge paths are
// refused at once, FIFOs and sockets are refused instead of blocking, a write fd does not survive a
// resume under a read-only grant, and a run cannot hold more than its share of descriptors, not
// even when its thread is terminated. The dwe ABI, WASI preview1 and components alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { exited, ROOT, spawnDwe, workdir, type CliResult } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { wasiGuest, watModule } from "./support/wasi-wat.js";
import { runIn, startWorker, waitFor } from "./support/worker.js";

const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");
const EMFILE = 33;
const ENAMETOOLONG = 37;
const ENOTSUP = 58;
const EROFS = 69;

const PATH_OPEN = `(import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))`;

/** Makes a preview1 module a WASI 0.2 component, so the same calls go through wasi:filesystem. */
function component(module: string): string {
  const out = module.replace(/\.wasm$/, ".component.wasm");
  const made = spawnSync(process.execPath, [JCO, "new", module, "--wasi-command", "-o", out], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`jco new failed: ${made.stderr}`);
  return out;
}

describe("hostile files and paths", () => {
  const w = workdir("dwe-fs-hostile-");
  const grant = join(w.dir, "grant");
  let socket: Server;

  beforeAll(async () => {
    mkdirSync(grant);
    writeFileSync(join(grant, "f"), "data");
    execFileSync("mkfifo", [join(grant, "fifo")]);
    socket = createServer();
    await new Promise<void>((resolve) => socket.listen(join(grant, "sock"), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => socket.close(resolve));
    w.cleanup();
  });

  /**
   * Runs `dwe` to its end, or SIGKILLs it after `ms` (a call that blocks for good): a run that
   * needs the kill fails the test with `killed`.
   */
  async function bounded(args: string[], ms = 30_000): Promise<CliResult & { killed: boolean }> {
    const child = spawnDwe(args, { cwd: w.dir, db: w.db });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, ms);
    const { code } = await exited(child);
    clearTimeout(timer);
    return { code, stdout, stderr, killed };
  }

  const logs = async (id: string) => (await bounded(["logs", id])).stdout.trim().split("\n");

  /** The journaled results and errors of run `id`, as text. */
  function journal(id: string): string[] {
    const db = new Database(w.db, { readonly: true });
    try {
      const rows = db.prepare("SELECT j.payload AS p FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.id = ? ORDER BY j.seq").all(id);
      return (rows as { p: Buffer }[]).map((r) => r.p.toString("latin1"));
    } finally {
      db.close();
    }
  }

  describe("a 200 KB path of 100,000 components is refused at once, without work proportional to it", () => {
    const BYTES = 200_005; // "/data" + 100,000 × "/a"

    it("dwe ABI fs.read: invalid, 'longer than 4096 bytes'", async () => {
      // Request {path: <str32 of BYTES>} at 1024, the path built by a loop.
      const m = abiGuest(w.dir, "long-abi", {
        pages: 5,
        data: { 0: "fs.read", 1024: "\\81\\a4path\\db\\00\\03\\0d\\45/data" },
        body: `(local $p i32)
        (local.set $p (i32.const 1040))
        (loop $l
          (i32.store16 (local.get $p) (i32.const 0x612f))
          (local.set $p (i32.add (local.get $p) (i32.const 2)))
          (br_if $l (i32.lt_u (local.get $p) (i32.const ${1035 + BYTES}))))
        (drop (call $call (i32.const 0) (i32.const 7) (i32.const 1024) (i32.const ${11 + BYTES})))`,
      });
      const r = await bounded(["run", m, "--id", "long-abi", "--dir", `${grant}:/data`, "--quiet"]);
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const replies = journal("long-abi");
      expect(replies).toHaveLength(1);
      expect(replies[0]).toMatch(/invalid.*is longer than 4096 bytes; use a shorter path/);
      expect(replies[0]!.length).toBeLessThan(400);
    }, 60_000);

    // path_open(3, "a/a/…/a") and prints the errno it returned (two digits).
    const longWasi = () =>
      watModule(
        w.dir,
        "long-wasi",
        `(module
        ${PATH_OPEN}
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 5)
        (func (export "_start") (local $p i32) (local $e i32)
          (loop $l
            (i32.store16 (local.get $p) (i32.const 0x2f61))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br_if $l (i32.lt_u (local.get $p) (i32.const 200000))))
          (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const 0) (i32.const 199999) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200100)))
          (i32.store8 (i32.const 200200) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 10))))
          (i32.store8 (i32.const 200201) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
          (i32.store8 (i32.const 200202) (i32.const 10))
          (i32.store (i32.const 200300) (i32.const 200200))
          (i32.store (i32.const 200304) (i32.const 3))
          (drop (call $fd_write (i32.const 1) (i32.const 200300) (i32.const 1) (i32.const 200310)))))`,
      );

    for (const [id, name, make] of [
      ["long-wasi", "WASI path_open", longWasi],
      ["long-p2", "component open", () => component(longWasi())],
    ] as const) {
      it(`${name}: ENAMETOOLONG`, async () => {
        const r = await bounded(["run", make(), "--id", id, "--dir", `${grant}:/data`, "--quiet"]);
        expect(r.killed).toBe(false);
        expect(r.code, r.stderr).toBe(0);
        expect(await logs(id)).toEqual([String(ENAMETOOLONG)]);
      }, 60_000);
    }
  });

  describe("a FIFO or socket in a grant is refused, never opened for good (it would block the host)", () => {
    it("dwe ABI fs.read, fs.write, fs.append of a FIFO and fs.read of a socket: invalid, and the run ends", async () => {
      const req = (p: string) => `\\81\\a4path\\a${(6 + p.length).toString(16)}/data/${p}`;
      const write = (p: string) => `\\82\\a4path\\a${(6 + p.length).toString(16)}/data/${p}\\a4data\\c4\\01x`;
      const m = abiGuest(w.dir, "fifo-abi", {
        data: { 0: "fs.read", 16: "fs.write", 32: "fs.append", 64: req("fifo"), 128: write("fifo"), 192: req("sock"), 256: write("sock") },
        body: `(drop (call $call (i32.const 0) (i32.const 7) (i32.const 64) (i32.const 17)))
        (drop (call $call (i32.const 16) (i32.const 8) (i32.const 128) (i32.const 25)))
        (drop (call $call (i32.const 32) (i32.const 9) (i32.const 128) (i32.const 25)))
        (drop (call $call (i32.const 0) (i32.const 7) (i32.const 192) (i32.const 17)))
        (drop (call $call (i32.const 16) (i32.const 8) (i32.const 256) (i32.const 25)))`,
      });
      const r = await bounded(["run", m, "--id", "fifo-abi", "--dir", `${grant}:/data`, "--quiet"]);
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const replies = journal("fifo-abi");
      expect(replies).toHaveLength(5);
      expect(replies[0]).toMatch(/invalid.*'\/data\/fifo' is a FIFO, not a regular file or directory/);
      for (const reply of replies.slice(1)) expect(reply).toMatch(/invalid.*is a (FIFO|FIFO or socket|socket), not a regular file/);
    }, 60_000);

    // Opens "fifo" for reading, then with O_CREAT for writing; prints each errno.
    const fifoWasi = () =>
      watModule(
        w.dir,
        "fifo-wasi",
        wasiGuest(
          PATH_OPEN,
          `(data (i32.const 700) "fifo")
          (func (export "_start")
            (call $printNum (call $path_open (i32.const 3) (i32.const 1) (i32.const 700) (i32.const 4) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
            (call $printNum (call $path_open (i32.const 3) (i32.const 1) (i32.const 700) (i32.const 4) (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200))))`,
        ),
      );

    it("WASI path_open of a FIFO, to read and to create/write: ENOTSUP, and the run ends", async () => {
      const r = await bounded(["run", fifoWasi(), "--id", "fifo-wasi", "--dir", `${grant}:/data`, "--quiet"]);
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      expect(await logs("fifo-wasi")).toEqual([String(ENOTSUP), String(ENOTSUP)]);
    }, 60_000);

    it("component open of a FIFO, to read and to create/write: refused, and the run ends", async () => {
      const r = await bounded(["run", component(fifoWasi()), "--id", "fifo-p2", "--dir", `${grant}:/data`, "--quiet"]);
      expect(r.killed).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const lines = await logs("fifo-p2");
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).not.toBe("0");
    }, 60_000);
  });

  // Creates out.txt for writing, writes "before", sleeps 2 s (suspends), writes "after".
  const roLater = () =>
    watModule(
      w.dir,
      "ro-later",
      wasiGuest(
        `${PATH_OPEN}
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))`,
        `(data (i32.const 700) "out.txt")
        (data (i32.const 720) "before\\n")
        (data (i32.const 740) "after\\n")
        (func $write (param $p i32) (param $l i32)
          (i32.store (i32.const 800) (local.get $p))
          (i32.store (i32.const 804) (local.get $l))
          (call $printNum (call $fd_write (i32.load (i32.const 200)) (i32.const 800) (i32.const 1) (i32.const 810))))
        (func (export "_start")
          (call $printNum (call $path_open (i32.const 3) (i32.const 1) (i32.const 700) (i32.const 7) (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200)))
          (call $write (i32.const 720) (i32.const 7))
          (i64.store (i32.const 300) (i64.const 7))
          (i32.store (i32.const 308) (i32.const 0))
          (i32.store (i32.const 316) (i32.const 1))
          (i64.store (i32.const 324) (i64.const 2000000000))
          (i64.store (i32.const 332) (i64.const 0))
          (i32.store (i32.const 340) (i32.const 0))
          (drop (call $poll (i32.const 300) (i32.const 400) (i32.const 1) (i32.const 500)))
          (call $write (i32.const 740) (i32.const 6)))`,
      ),
    );

  for (const [id, name, make] of [
    ["ro-wasi", "WASI", roLater],
    ["ro-p2", "component", () => component(roLater())],
  ] as const) {
    it(`${name}: a write fd opened before a suspend cannot write after \`dwe resume --dir …:ro\`: EROFS, the file unchanged`, async () => {
      const dir = join(w.dir, id);
      mkdirSync(dir);
      const first = await bounded(["run", make(), "--id", id, "--dir", `${dir}:/data`, "--suspend-after", "100", "--quiet"]);
      expect(first.code, first.stderr).toBe(75);
      expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("before\n");
      const resumed = await bounded(["resume", id, "--dir", `${dir}:/data:ro`, "--quiet"]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(await logs(id)).toEqual(["0", "0", String(EROFS)]);
      expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("before\n");
    }, 90_000);
  }

  const SLEEP_60S = `(i64.store (i32.const 300) (i64.const 7))
    (i32.store (i32.const 308) (i32.const 0))
    (i32.store (i32.const 316) (i32.const 1))
    (i64.store (i32.const 324) (i64.const 60000000000))
    (i64.store (i32.const 332) (i64.const 0))
    (i32.store (i32.const 340) (i32.const 0))
    (drop (call $poll (i32.const 300) (i32.const 400) (i32.const 1) (i32.const 500)))`;
  const ENDINGS = { return: "", spin: "(loop $spin (br $spin))", trap: "unreachable", sleep: SLEEP_60S } as const;

  // Opens "f" for reading `n` times without closing; prints how many opens succeeded and the errno
  // of the first that failed (0: none did); then ends as `end` says.
  const opener = (name: string, n: number, end: keyof typeof ENDINGS) =>
    watModule(
      w.dir,
      name,
      wasiGuest(
        `${PATH_OPEN}
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))`,
        `(data (i32.const 700) "f")
        (func (export "_start") (local $i i32) (local $e i32)
          (block $done (loop $l
            (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const 700) (i32.const 1) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
            (br_if $done (local.get $e))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const ${n})))))
          (call $printNum (local.get $i))
          (call $printNum (local.get $e))
          ${ENDINGS[end]})`,
      ),
    );

  it("a run cannot hold more than 256 descriptors: the 253rd path_open (after stdio and the preopen) is EMFILE", async () => {
    const r = await bounded(["run", opener("fds", 300, "return"), "--id", "fds", "--dir", `${grant}:/data`, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(await logs("fds")).toEqual(["252", String(EMFILE)]);
  }, 60_000);

  it("a worker keeps none of a run's files open once the run completed, suspended, trapped or was stopped by the watchdog", async () => {
    const dir = join(w.dir, "worker");
    mkdirSync(dir);
    writeFileSync(join(dir, "f"), "data");
    const ends = Object.keys(ENDINGS) as (keyof typeof ENDINGS)[];
    for (const end of ends) {
      const created = await bounded(["start", opener(`w-${end}`, 100, end), "--id", `w-${end}`, "--dir", `${dir}:/data`]);
      expect(created.code, created.stderr).toBe(0);
    }
    const worker = startWorker(w, ["--watchdog", "1000"]);
    try {
      const openInDir = () =>
        readdirSync(`/proc/${worker.child.pid}/fd`).filter((fd) => {
          try {
            return readlinkSync(`/proc/${worker.child.pid}/fd/${fd}`).startsWith(dir);
          } catch {
            return false;
          }
        }).length;
      // While the spinner spins, its 100 files are open in the worker process.
      await waitFor("the spinner's files open", () => openInDir() >= 100, 90_000);
      const expected = { return: "completed", sleep: "suspended", trap: "failed", spin: "failed" };
      await waitFor("every run to end or suspend", () => ends.every((e) => runIn(w.db, `w-${e}`).status === expected[e]), 90_000);
      expect(runIn(w.db, "w-spin").error).toMatch(/watchdog/);
      expect(await logs("w-return")).toEqual(["100", "0"]);
      expect(await logs("w-sleep")).toEqual(["100", "0"]);
      await waitFor("the files closed", () => openInDir() === 0, 10_000).catch(() => undefined);
      expect(openInDir()).toBe(0);
      expect(existsSync(`/proc/${worker.child.pid}`)).toBe(true);
    } finally {
      await worker.stop("SIGKILL");
    }
  }, 150_000);
});
