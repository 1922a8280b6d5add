// `dwe worker`: takeover after SIGKILL (lease expiry, fencing), many concurrent runs on one
// worker, isolation of runaway guests, graceful SIGTERM. Real processes, real SQLite, real HTTP.
import { describe, expect, it } from "vitest";
import { setTimeout as delay } from "node:timers/promises";
import { pack } from "msgpackr";
import { verifyRun } from "../engine/executor/verify-run.js";
import { openStoreAt } from "../engine/store/open.js";
import { exited } from "./support/cli.js";
import { abiGuest, watBytes } from "./support/guest-wat.js";
import { senderPid } from "./support/sender-pid.js";
import type { Received } from "./support/servers.js";
import { WORKER_WASM, createRunsLike, runIn, runsIn, waitFor, workerTestbed } from "./support/worker.js";

/** Several seconds of guest code here, also on a quiet fast machine (its asserts do not depend on how long). */
const SPIN_ITERATIONS = 3_000_000_000n;

/**
 * A guest that POSTs "0" to `url`, then runs its own code for a few seconds (a loop with no host
 * call, so its thread's event loop reads no message meanwhile), then POSTs "1".
 */
function busyBetweenPosts(dir: string, url: string): string {
  const post = (body: string) => pack({ method: "POST", url, body: Buffer.from(body) });
  const [first, second] = [post("0"), post("1")];
  return abiGuest(dir, "busy", {
    data: { 0: "http.request", 1024: watBytes(first), 2048: watBytes(second) },
    extra: `(global $sink (mut i64) (i64.const 0))
  (func $spin (param $n i64) (local $i i64)
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (global.set $sink (local.get $i))
      (br_if $l (i64.lt_u (local.get $i) (local.get $n)))))`,
    body: `(drop (call $call (i32.const 0) (i32.const 12) (i32.const 1024) (i32.const ${first.length})))
    (call $spin (i64.const ${SPIN_ITERATIONS}))
    (drop (call $call (i32.const 0) (i32.const 12) (i32.const 2048) (i32.const ${second.length})))`,
  });
}

describe("dwe worker", () => {
  const bed = workerTestbed("dwe-worker-");
  const worker = (args: string[] = [], env: Record<string, string> = {}) => bed.worker(args, env);

  it("a second worker on the same host takes over a SIGKILLed worker's run at once, not after its lease; effects before the kill happen once", async () => {
    const [id] = await bed.startRuns([
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "k1",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 5, sleep_ms: 2000 }),
      ],
    ]);
    // A 30 s lease: only seeing the dead pid explains a takeover within it.
    const long = { DWE_LEASE_TTL_MS: "30000" };
    const a = worker([], long);
    await waitFor("two steps", () => bed.server.received.length >= 2);
    // B is up and polling before the kill, so the time below is the takeover, not B's start-up.
    const b = worker([], long);
    // Who sent each request, told while it is held open (after the answer the client may close it).
    const senders = new Map<Received, number | null>();
    bed.server.hold = (r) => {
      senders.set(r, senderPid(r.port, [a.child.pid!, b.child.pid!]));
      return Promise.resolve();
    };
    await waitFor("B started", () => b.log().includes("started on"), 30_000);
    const seen = bed.server.received.length;
    expect(seen).toBeLessThan(5);
    await waitFor("A's next step", () => bed.server.received.length > seen, 30_000);
    await delay(150); // inside the 2 s sleep after that step: nothing in flight
    const store = openStoreAt(bed.db, "process");
    const lease = (await store.getRun(id!))!.leaseExpiresAt!;
    await store.close();
    expect((await a.stop("SIGKILL")).signal).toBe("SIGKILL");

    await waitFor("B's first request", () => bed.server.received.length > seen + 1, 40_000);
    // Not a timing bound: B sent it, and the dead worker's lease had not expired when it did.
    expect(Date.now()).toBeLessThan(lease);
    expect(senders.get(bed.server.received[seen + 1]!)).toBe(b.child.pid);
    const done = await waitFor("completion", () => {
      const r = runIn(bed.db, id!);
      return r.status === "completed" && r;
    });
    expect(JSON.parse(done.output!)).toEqual({ steps: 5 });
    expect(done.attempts).toBe(2);
    const bodies = bed.server.received.map((r) => r.body);
    expect(bodies).toEqual(["0", "1", "2", "3", "4"]);
    expect(new Set(bed.server.received.map((r) => r.key)).size).toBe(5);
    await waitFor("B's report", () => b.log().includes(`run ${id} completed`), 30_000);
    bed.server.hold = () => Promise.resolve();
  });

  it("a worker whose lease was taken is fenced: it writes nothing more to that run", async () => {
    // Worker A holds the run while its HTTP request hangs; its lease is stolen (expired under a
    // very long heartbeat interval is hard to force, so B takes it with `dwe resume`-style steal is
    // not available: instead A is SIGSTOPped past its lease, B finishes the run, then A continues).
    const [id] = await bed.startRuns([
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "f1",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 3, sleep_ms: 300 }),
      ],
    ]);
    const a = worker();
    await waitFor("first step", () => bed.server.received.length >= 1);
    a.child.kill("SIGSTOP");
    const b = worker();
    const done = await waitFor("completion by B", () => runIn(bed.db, id!).status === "completed" && runIn(bed.db, id!));
    a.child.kill("SIGCONT");
    await delay(1500); // A wakes up, finds its lease gone
    const after = runIn(bed.db, id!);
    expect(after).toEqual(done);
    expect(a.log()).toContain(`run ${id} lost its lease`);
    expect(b.log()).toContain(`run ${id} completed`);
  });

  it("200 runs waiting on a held HTTP endpoint all complete under one worker, each request made once, each journal intact and deterministic", async () => {
    bed.server.hold = () => delay(1000);
    const n = 200;
    // One `dwe start` pins the module and the grants; the other runs are made like it in this process.
    const at = (i: number) => JSON.stringify({ url: `${bed.url}s${i}` });
    await bed.startRuns([[WORKER_WASM, "--entry", "slow", "--id", "s0", "--allow-net", "127.0.0.1", "--input", at(0)]]);
    await createRunsLike(
      bed.db,
      "s0",
      Array.from({ length: n - 1 }, (_, i) => ({ id: `s${i + 1}`, input: at(i + 1) })),
    );
    worker(["--concurrency", String(n)]);
    await waitFor("all completed", () => runsIn(bed.db, "status = 'completed'").length === n, 240_000, 200);
    const paths = bed.server.received.map((r) => r.url).sort();
    expect(paths).toEqual(Array.from({ length: n }, (_, i) => `/s${i}`).sort());
    for (const r of runsIn(bed.db)) {
      expect(r.attempts).toBe(1);
      expect(JSON.parse(r.output!)).toMatchObject({ status: 200 });
    }
    const store = openStoreAt(bed.db, "process", false);
    try {
      for (let i = 0; i < n; i++) {
        const report = await verifyRun(store, `s${i}`);
        expect(report, `s${i}`).toMatchObject({ intact: true, deterministic: true, replayed: report.entries });
      }
    } finally {
      await store.close();
    }
  }, 300_000);

  it("an infinite loop is stopped by its timeout; the other runs of the same thread complete", async () => {
    bed.server.hold = () => delay(300);
    const others = Array.from({ length: 5 }, (_, i) => [
      WORKER_WASM,
      "--entry",
      "steps",
      "--id",
      `o${i}`,
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url: bed.url, n: 3, sleep_ms: 200 }),
    ]);
    await bed.startRuns([
      [WORKER_WASM, "--entry", "spin", "--id", "spin", "--timeout", "1500"],
      [WORKER_WASM, "--entry", "spin_calls", "--id", "spin-calls", "--timeout", "1500"],
      [WORKER_WASM, "--entry", "hog", "--id", "hog", "--max-memory", "16M"],
      ...others,
    ]);
    const p = worker(["--threads", "1"]);
    await waitFor("all ended", () => runsIn(bed.db, "status IN ('completed', 'failed')").length === 8, 60_000, 100);
    const spin = runIn(bed.db, "spin");
    expect(spin.status).toBe("failed");
    expect(JSON.parse(spin.error!)).toMatchObject({ code: "timeout" });
    expect((JSON.parse(spin.error!) as { message: string }).message).toContain("ran past its timeout of 1500 ms");
    const calls = runIn(bed.db, "spin-calls");
    expect(calls.status).toBe("failed");
    expect((JSON.parse(calls.error!) as { code: string }).code).toBe("timeout");
    expect(runIn(bed.db, "hog").status).toBe("failed");
    for (let i = 0; i < 5; i++) expect(runIn(bed.db, `o${i}`).status).toBe("completed");
    expect(bed.server.received.length).toBeGreaterThanOrEqual(15);
    expect(p.child.exitCode).toBeNull(); // the worker carries on
  });

  it("SIGTERM: in-flight HTTP finishes and is journaled, leases are released, exit 0; another worker finishes the run", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    bed.server.hold = (r) => (r.body === "1" ? held : Promise.resolve());
    const [id] = await bed.startRuns([
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "t1",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 3, sleep_ms: 0 }),
      ],
    ]);
    const a = worker();
    await waitFor("step 1 in flight", () => bed.server.received.length >= 2);
    a.child.kill("SIGTERM");
    await delay(500);
    release();
    const exit = await exited(a.child);
    expect(exit.code).toBe(0);
    const r = runIn(bed.db, id!);
    expect(r.status).toBe("pending");
    const shown = JSON.parse((await bed.cli(["show", id!, "--json"])).stdout) as {
      journal: { intents: number; byOp: Record<string, number> };
    };
    expect(shown.journal.intents).toBe(0);
    expect(shown.journal.byOp["http.request"]).toBe(2);

    worker();
    await waitFor("completion", () => runIn(bed.db, id!).status === "completed");
    expect(bed.server.received.map((x) => x.body)).toEqual(["0", "1", "2"]);
  });

  it("SIGTERM while a run is busy in its own code: it starts no new effect; it is given back at that effect and another worker performs it", async () => {
    const wasm = busyBetweenPosts(bed.dir, bed.url);
    // A grace longer than the guest's loop: the run reaches its next effect before the grace ends.
    const a = worker(["--grace", "60000"]);
    const started = await bed.cli(["start", wasm, "--id", "b1", "--allow-net", "127.0.0.1"]);
    expect(started.code, started.stderr).toBe(0);
    await waitFor("the first request", () => bed.server.received.length === 1);
    // Its answer arrives and the guest enters its loop (seconds long). The result is not committed
    // yet (an at-least-once effect's result goes with the next commit); had the signal come while
    // the request was in flight instead, the outcome below would be the same.
    await delay(200);
    a.child.kill("SIGTERM");
    expect((await exited(a.child)).code).toBe(0);
    // A sent nothing after the signal, and gave the run back with nothing in flight.
    expect(bed.server.received.map((x) => x.body)).toEqual(["0"]);
    expect(runIn(bed.db, "b1").status).toBe("pending");
    const shown = JSON.parse((await bed.cli(["show", "b1", "--json"])).stdout) as {
      journal: { intents: number; byOp: Record<string, number> };
    };
    expect(shown.journal).toMatchObject({ intents: 0, byOp: { "http.request": 1 } });

    const b = worker();
    await waitFor("completion", () => runIn(bed.db, "b1").status === "completed");
    expect(bed.server.received.map((x) => [x.body, x.key])).toEqual([
      ["0", "b1:1"],
      ["1", "b1:2"],
    ]);
    expect(runIn(bed.db, "b1").attempts).toBe(1); // A's attempt was given back cleanly: it does not count
    await waitFor("B's report", () => b.log().includes("run b1 completed"), 30_000);
  });
});
