// Replay of WASI calls: the fd table is rebuilt from the journal without touching the disk (a
// file changed while the run was suspended is read at the journaled offset, and what was read
// before is not read again); a module making other WASI calls, or the same call with another
// request, is refused on `resume --upgrade` as a divergence; args, environment, stdin, stdout and
// stderr come from the run and go to its logs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { dwe, workdir } from "./support/cli.js";
import { wasiGuest, watModule } from "./support/wasi-wat.js";

const READER_IMPORTS = `
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))`;

/**
 * Opens /data/in.txt, prints its first `first` bytes, sleeps 1.5 s (poll_oneoff on the monotonic
 * clock), prints the next 4 bytes. Variants: a random_get before everything, extra output at the end.
 */
function reader(o: { randomFirst?: boolean; first?: number; extra?: boolean } = {}): string {
  return wasiGuest(
    READER_IMPORTS,
    `(data (i32.const 700) "in.txt")
    (data (i32.const 720) "extra")
    (func $readPrint (param $n i32)
      (i32.store (i32.const 8) (i32.const 8192))
      (i32.store (i32.const 12) (local.get $n))
      (drop (call $fd_read (i32.load (i32.const 200)) (i32.const 8) (i32.const 1) (i32.const 24)))
      (call $println (i32.const 8192) (i32.load (i32.const 24))))
    (func (export "_start")
      ${o.randomFirst ? "(drop (call $random_get (i32.const 600) (i32.const 8)))" : ""}
      (call $printNum (call $path_open (i32.const 3) (i32.const 1) (i32.const 700) (i32.const 6) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
      (call $readPrint (i32.const ${o.first ?? 4}))
      (i64.store (i32.const 300) (i64.const 7))
      (i32.store (i32.const 308) (i32.const 0))
      (i32.store (i32.const 316) (i32.const 1))
      (i64.store (i32.const 324) (i64.const 1500000000))
      (i64.store (i32.const 332) (i64.const 0))
      (i32.store (i32.const 340) (i32.const 0))
      (drop (call $poll (i32.const 300) (i32.const 400) (i32.const 1) (i32.const 500)))
      (call $readPrint (i32.const 4))
      ${o.extra ? "(call $println (i32.const 720) (i32.const 5))" : ""})`,
  );
}

/**
 * Prints argv and the environment (a line each), then stdin (the run's input) in 3-byte pieces
 * without newlines, then "to-stderr" on stderr without a newline: the pieces make one line, and
 * both unfinished lines are written when the program ends.
 */
const ECHO = wasiGuest(
  `(import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))`,
  `(data (i32.const 760) "to-stderr")
  (func (export "_start")
    (local $n i32) (local $i i32) (local $p i32)
    (local.set $n (call $argc))
    (block $e (loop $l
      (br_if $e (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (call $arg (local.get $i)))
      (call $println (local.get $p) (call $strlen (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_get (i32.const 1024) (i32.const 4096)))
    (local.set $n (i32.load (i32.const 16)))
    (local.set $i (i32.const 0))
    (block $e2 (loop $l2
      (br_if $e2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (call $arg (local.get $i)))
      (call $println (local.get $p) (call $strlen (local.get $p)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    (block $e3 (loop $l3
      (i32.store (i32.const 8) (i32.const 8192))
      (i32.store (i32.const 12) (i32.const 3))
      (drop (call $fd_read (i32.const 0) (i32.const 8) (i32.const 1) (i32.const 24)))
      (br_if $e3 (i32.eqz (i32.load (i32.const 24))))
      (call $print (i32.const 8192) (i32.load (i32.const 24)))
      (br $l3)))
    (i32.store (i32.const 0) (i32.const 760))
    (i32.store (i32.const 4) (i32.const 9))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))`,
);

describe("WASI replay", () => {
  let w: ReturnType<typeof workdir>;
  const mod: Record<string, string> = {};

  beforeAll(() => {
    w = workdir("dwe-wasi-replay-");
    mod.reader = watModule(w.dir, "reader", reader());
    mod.readerExtra = watModule(w.dir, "reader-extra", reader({ extra: true }));
    mod.readerRandom = watModule(w.dir, "reader-random", reader({ randomFirst: true }));
    mod.readerFive = watModule(w.dir, "reader-five", reader({ first: 5 }));
    mod.echo = watModule(w.dir, "echo", ECHO);
  });
  afterAll(() => w.cleanup());

  const cli = (args: string[], input?: string) => dwe(args, { cwd: w.dir, db: w.db, ...(input !== undefined && { input }) });
  const logs = (id: string) => cli(["logs", id]).stdout.trim().split("\n");

  /** Starts the reader on in.txt = AAAABBBB; it suspends in its 1.5 s sleep (--suspend-after 100). */
  function startSuspended(id: string): void {
    writeFileSync(join(w.dir, "in.txt"), "AAAABBBB");
    const r = cli(["run", mod.reader!, "--id", id, "--dir", `${w.dir}:/data`, "--suspend-after", "100"]);
    expect(r.stderr).toContain("suspended");
    const shown = cli(["show", id, "--json"]);
    expect(shown.stdout, shown.stderr).toContain('"status":"suspended"');
  }

  it("a resumed run reads on at the journaled offset; what it read before comes from the journal", () => {
    startSuspended("r1");
    // The file changes while the run sleeps: the replayed read must not see it, the live one must.
    writeFileSync(join(w.dir, "in.txt"), "XXXXYYYY");
    const r = cli(["resume", "r1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(logs("r1")).toEqual(["0", "AAAA", "YYYY"]);
    const shown = JSON.parse(cli(["show", "r1", "--json"]).stdout) as { journal: { byOp: Record<string, number>; intents: number } };
    expect(shown.journal.intents).toBe(0);
    expect(shown.journal.byOp).toMatchObject({ "wasi.path_open": 1, "wasi.fd_read": 2, "wasi.poll_oneoff": 1, "wasi.fd_write": 3 });
  });

  it("resume --upgrade to a module making another WASI call first is refused as a divergence", () => {
    startSuspended("r2");
    const r = cli(["resume", "r2", "--upgrade", mod.readerRandom!]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("upgrade refused");
    expect(r.stderr).toMatch(/seq 1: the journal recorded wasi\.path_open .*but the code asked for wasi\.random_get/);
    expect(cli(["show", "r2", "--json"]).stdout).toContain('"status":"suspended"');
  });

  it("resume --upgrade to a module making the same call with another request is refused", () => {
    startSuspended("r3");
    const r = cli(["resume", "r3", "--upgrade", mod.readerFive!]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/seq 3: the journal recorded wasi\.fd_read .*but the code asked for wasi\.fd_read \{"fd":4,"at":0,"len":5\}/);
    // The original module still finishes it.
    const ok = cli(["resume", "r3"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(logs("r3")).toEqual(["0", "AAAA", "BBBB"]);
  });

  it("resume --upgrade to a module making the same calls continues on it", () => {
    startSuspended("r4");
    const r = cli(["resume", "r4", "--upgrade", mod.readerExtra!]);
    expect(r.code, r.stderr).toBe(0);
    expect(logs("r4")).toEqual(["0", "AAAA", "BBBB", "extra"]);
  });

  it("argv (argv[0] the module's file name), environment and stdin come from the run; stdout and stderr are its log streams and dwe's", () => {
    const r = cli(["run", mod.echo!, "--id", "e1", "--env", "B=2", "--env", "A=1", "--input", "hello stdin", "--", "x", "y z"]);
    expect(r.code, r.stderr).toBe(0);
    expect(logs("e1")).toEqual(["echo.wasm", "x", "y z", "A=1", "B=2", "hello stdin", "to-stderr"]);
    // As wasmtime: the program's stdout is dwe's stdout, byte for byte, and nothing else is.
    expect(r.stdout).toBe("echo.wasm\nx\ny z\nA=1\nB=2\nhello stdin");
    expect(r.stderr).toBe("dwe: run e1\nto-stderr");
    const json = cli(["logs", "e1", "--json"])
      .stdout.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { stream: string; message: string });
    expect(json.at(-1)).toMatchObject({ stream: "stderr", message: "to-stderr" });
    expect(json[0]).toMatchObject({ stream: "stdout", message: "echo.wasm\n" });
    // Stdin needs no journal entries: it is pinned with the run.
    const shown = JSON.parse(cli(["show", "e1", "--json"]).stdout) as { journal: { byOp: Record<string, number> } };
    expect(Object.keys(shown.journal.byOp)).toEqual(["wasi.fd_write"]);
  });
});
