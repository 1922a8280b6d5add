// Runs the fast-check properties of test/fuzz/host-decoding.mjs (random and adversarial requests at
// every host function's decoding) in a plain Node process against the compiled engine; see that
// file. Then the decoding bombs of issue 11 as real guests run by the real CLI, each under a small
// V8 heap: a decoder whose cost is not bounded by the request aborts the process (V8 out of memory).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { afterAll, describe, expect, it } from "vitest";
import { dwe, dweAsync, ROOT, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";

/** A V8 heap small enough that decoding millions of objects, or a reference bomb, runs it out. */
const SMALL_HEAP = { NODE_OPTIONS: "--max-old-space-size=64" };

describe("host decoding under random input (fast-check)", () => {
  it("every host function answers or fails the run with a typed error, in bounded time and memory, whatever the bytes and pointers", async () => {
    // Asynchronously: the run takes a while on a loaded machine, and vitest's worker must stay responsive.
    const child = spawn(process.execPath, ["--max-old-space-size=256", join(ROOT, "test", "fuzz", "host-decoding.mjs"), "300"], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const r = { status, stdout, stderr };
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout) as { properties: number; runs: number; outcomes: Record<string, number> };
    expect(summary.properties).toBe(6);
    // The inputs reach past the pointer checks into request decoding and the operations themselves.
    expect(summary.outcomes.abi_violation).toBeGreaterThan(0);
    expect(summary.outcomes.bad_request).toBeGreaterThan(0);
    expect(summary.outcomes.reply).toBeGreaterThan(0);
  }, 320_000);
});

/** WAT string syntax for bytes. */
const wat = (bytes: Uint8Array) => [...bytes].map((b) => "\\" + b.toString(16).padStart(2, "0")).join("");

describe("decoding bombs (issue 11, item 9)", () => {
  const w = workdir();
  afterAll(() => w.cleanup());

  async function failsWithBadRequest(module: string, id: string, reason: string): Promise<void> {
    const r = await dweAsync(["run", module, "--id", id, "--quiet"], { cwd: w.dir, db: w.db, env: SMALL_HEAP });
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`dwe: run ${id} failed: bad_request: bad request to log: the request is not valid MessagePack`);
    expect(r.stderr).toContain(reason);
    const shown = JSON.parse(dwe(["show", id, "--json"], { cwd: w.dir, db: w.db }).stdout) as { status: string; error: { code: string } };
    expect(shown).toMatchObject({ status: "failed", error: { code: "bad_request" } });
  }

  it("6 MB of empty maps in one request fails the run with bad_request; V8 does not run out of memory", async () => {
    // An array32 of 6,000,000 `{}` (0x80), written by the guest into its own memory.
    const n = 6_000_000;
    const m = abiGuest(w.dir, "empty-maps", {
      pages: 100,
      data: { 0: "log", 16: "\\dd\\00\\5b\\8d\\80" },
      body: `(local $p i32) (local.set $p (i32.const 21))
        (block $done (loop $fill
          (br_if $done (i32.ge_u (local.get $p) (i32.const ${21 + n})))
          (i64.store (local.get $p) (i64.const 0x8080808080808080))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br $fill)))
        (drop (call $call (i32.const 0) (i32.const 3) (i32.const 16) (i32.const ${n + 5})))`,
    });
    await failsWithBadRequest(m, "empty-maps", "it holds more than 65536 values");
  });

  it("a 528-byte request of msgpackr records and references (a DAG of 2^40 paths) fails the run with bad_request at once", async () => {
    // msgpackr's own encoding with its extensions on: a record definition for {message}, then 40
    // levels that each reference the level below twice; trailing bytes make msgpackr describe the
    // value it read (JSON.stringify of 2^40 leaves) before it complains.
    let v: unknown = "xy";
    for (let i = 0; i < 40; i++) v = [v, v];
    const packed = new Packr({ structuredClone: true }).pack({ message: v });
    const request = new Uint8Array(packed.length + 2).fill(0xc0);
    request.set(packed);
    expect(request.length).toBe(528);
    const m = abiGuest(w.dir, "reference-bomb", {
      data: { 0: "log", 16: wat(request) },
      body: `(drop (call $call (i32.const 0) (i32.const 3) (i32.const 16) (i32.const ${request.length})))`,
    });
    await failsWithBadRequest(m, "reference-bomb", "it uses MessagePack extension type 114, which dwe does not accept");
  });
});
