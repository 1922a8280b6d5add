// Misbehaving guests each end in a clean run failure with a clear error: the dwe process exits
// normally (exit 1, one line naming the run and the error), the database stays intact, and what
// the guest journaled before misbehaving is kept and replays cleanly (`dwe verify`).
import { afterAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { dwe, example, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";

// Byte strings used by the guests below (WAT string syntax).
const CLOCK = "clock.now"; // 9 bytes
const OUTPUT = "run.output"; // 10 bytes
const SLEEP = "sleep"; // 5 bytes
const SLEEP_1MS = "\\81\\a2ms\\01"; // {ms: 1}, 5 bytes
const LOG = "log"; // 3 bytes

describe("hostile guests", () => {
  const w = workdir();
  afterAll(() => w.cleanup());
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });

  function failsCleanly(
    module: string,
    id: string,
    code: string,
    message: RegExp | string,
    flags: string[] = [],
    verifyFlags: string[] = [],
  ): void {
    const r = cli(["run", module, "--id", id, "--quiet", ...flags]);
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.code, r.stderr).toBe(1);
    expect(lines[0]).toMatch(new RegExp(`^dwe: run ${id} failed: ${code}: `));
    if (typeof message === "string") expect(lines[0]).toContain(message);
    else expect(lines[0]).toMatch(message);
    const shown = JSON.parse(cli(["show", id, "--json"]).stdout) as { status: string; error: { code: string } };
    expect(shown.status).toBe("failed");
    expect(shown.error.code).toBe(code);
    // The journal kept so far replays cleanly, and the host still works.
    const v = cli(["verify", id, ...verifyFlags]);
    expect(v.code, v.stderr).toBe(0);
  }

  afterAll(() => {
    const db = new Database(w.db, { readonly: true });
    try {
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      db.close();
    }
  });

  it("a request pointer outside memory", () => {
    const m = abiGuest(w.dir, "oob-request", {
      data: { 0: OUTPUT },
      body: "(drop (call $call (i32.const 0) (i32.const 10) (i32.const 0xfffffff0) (i32.const 8)))",
    });
    failsCleanly(
      m,
      "oob-request",
      "abi_violation",
      /dwe\.call run\.output request: range \[4294967280, \+8\) is outside guest memory \(65536 bytes\)/,
    );
  });

  it("an operation name pointer outside memory", () => {
    const m = abiGuest(w.dir, "oob-op", { body: "(drop (call $call (i32.const 65530) (i32.const 9) (i32.const 0) (i32.const 0)))" });
    failsCleanly(m, "oob-op", "abi_violation", "dwe.call operation name: range [65530, +9) is outside guest memory");
  });

  it("a request length near 4 GiB", () => {
    const m = abiGuest(w.dir, "huge-len", {
      data: { 0: OUTPUT },
      body: "(drop (call $call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const -16)))",
    });
    failsCleanly(m, "huge-len", "abi_violation", "request of 4294967280 bytes is over the 67108864-byte limit");
  });

  it("an operation name length near 4 GiB", () => {
    const m = abiGuest(w.dir, "huge-op", { body: "(drop (call $call (i32.const 0) (i32.const -1) (i32.const 0) (i32.const 0)))" });
    failsCleanly(m, "huge-op", "abi_violation", "operation name of 4294967295 bytes is too long");
  });

  it("a response destination outside memory, with a length near 4 GiB, after a journaled call", () => {
    const m = abiGuest(w.dir, "oob-response", {
      data: { 0: CLOCK },
      body: "(drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0))) (drop (call $response (i32.const 65530) (i32.const -1)))",
    });
    failsCleanly(m, "oob-response", "abi_violation", "dwe.response destination: range [65530, +9) is outside guest memory");
  });

  it("a request that is not valid MessagePack", () => {
    const m = abiGuest(w.dir, "bad-msgpack", {
      data: { 0: LOG, 16: "\\c1\\c1" },
      body: "(drop (call $call (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 2)))",
    });
    failsCleanly(m, "bad-msgpack", "bad_request", "bad request to log: the request is not valid MessagePack");
  });

  it("a request of the wrong shape", () => {
    // {message: 42}
    const m = abiGuest(w.dir, "bad-shape", {
      data: { 0: LOG, 16: "\\81\\a7message\\2a" },
      body: "(drop (call $call (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 10)))",
    });
    failsCleanly(m, "bad-shape", "bad_request", "bad request to log: field 'message' must be a string");
  });

  it("an operation name that is not UTF-8", () => {
    const m = abiGuest(w.dir, "bad-utf8", {
      data: { 0: "\\ff\\fe\\fd" },
      body: "(drop (call $call (i32.const 0) (i32.const 3) (i32.const 0) (i32.const 0)))",
    });
    failsCleanly(m, "bad-utf8", "abi_violation", "dwe.call operation name: not valid UTF-8");
  });

  it("an operation dwe does not have", () => {
    const m = abiGuest(w.dir, "unknown-op", {
      data: { 0: "os.system" },
      body: "(drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))",
    });
    failsCleanly(m, "unknown-op", "abi_violation", "the guest called unknown operation 'os.system'");
  });

  it("imports with the wrong signature are refused before a run is created", () => {
    const cases: [string, string, RegExp][] = [
      [
        "sig-call",
        `(import "dwe" "call" (func $call (param i32 i32) (result i32)))`,
        /imports function dwe\.call with the signature \(i32, i32\) -> \(i32\), but dwe provides \(i32, i32, i32, i32\) -> \(i32\)/,
      ],
      [
        "sig-response",
        `(import "dwe" "response" (func $response (param i64 i32) (result i32)))`,
        /dwe\.response with the signature \(i64, i32\) -> \(i32\)/,
      ],
      ["sig-abort", `(import "env" "abort" (func $abort (param i32 i32 i32 i32) (result i32)))`, /env\.abort with the signature/],
      [
        "sig-wasi",
        `(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32) (result i32)))`,
        /wasi_snapshot_preview1\.fd_write with the signature/,
      ],
    ];
    for (const [name, imports, re] of cases) {
      const m = abiGuest(w.dir, name, { imports, body: "" });
      const r = cli(["run", m, "--id", name]);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(cli(["show", name]).code).toBe(2);
    }
  });

  it("unbounded recursion", () => {
    const m = abiGuest(w.dir, "recursion", {
      extra: "(func $f (param i32) (call $f (i32.add (local.get 0) (i32.const 1))))",
      body: "(call $f (i32.const 0))",
    });
    failsCleanly(m, "recursion", "stack_overflow", "guest exhausted the call stack");
  });

  it("memory growth past --max-memory", () => {
    const m = abiGuest(w.dir, "grow", {
      body: "(loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (if (i32.gt_u (memory.size) (i32.const 64)) (then unreachable)) (unreachable)",
    });
    failsCleanly(
      m,
      "grow",
      "trap",
      "guest trapped: unreachable (its memory was 3.1 MiB of its 4 MiB limit; if it ran out, raise --max-memory)",
      ["--max-memory", "4M"],
    );
  });

  it("an infinite loop without host calls is stopped by --timeout", () => {
    const m = abiGuest(w.dir, "spin", { body: "(loop $forever (br $forever))" });
    failsCleanly(m, "spin", "timeout", "ran past its timeout of 300 ms", ["--timeout", "300"]);
  });

  it("an infinite loop of host calls is stopped by --timeout", () => {
    const m = abiGuest(w.dir, "spin-calls", {
      data: { 0: CLOCK },
      body: "(loop $forever (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0))) (br $forever))",
    });
    // verify gets more time than the run had: replaying the many recorded calls is not what is tested here.
    failsCleanly(m, "spin-calls", "timeout", "ran past its timeout of 300 ms", ["--timeout", "300"], ["--timeout", "60000"]);
  });

  it("a trap in the middle of a host call (after the guest was suspended in it): the call stays journaled", () => {
    // sleep suspends the guest (asyncify unwinds it); it is rewound into the call and then traps.
    const m = abiGuest(w.dir, "trap-mid-call", {
      data: { 0: SLEEP, 16: SLEEP_1MS },
      body: "(drop (call $call (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 5))) (unreachable)",
    });
    failsCleanly(m, "trap-mid-call", "trap", "guest trapped: unreachable");
    const shown = JSON.parse(cli(["show", "trap-mid-call", "--json"]).stdout) as {
      journal: { entries: number; intents: number; byOp: Record<string, number> };
    };
    expect(shown.journal).toMatchObject({ entries: 1, intents: 0, byOp: { sleep: 1 } });
  });

  it("output larger than the 16 MiB limit", () => {
    // run.output with a bin32 of 17 MiB (the request fits the 64 MiB request limit).
    const m = abiGuest(w.dir, "big-output", {
      pages: 300,
      data: { 0: OUTPUT, 16: "\\c6\\01\\10\\00\\00" },
      body: "(drop (call $call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const 17825797)))",
    });
    failsCleanly(m, "big-output", "output_too_large", "run.output of 17825792 bytes is over the 16777216-byte (16 MiB) limit");
  });

  it("the host is unharmed: a good run afterwards completes", () => {
    const r = cli(["run", example("hello"), "--id", "after"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ greeting: "hello, world" });
  });
});
