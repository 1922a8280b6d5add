// `dwe worker`: takeover after SIGKILL (lease expiry, fencing), many concurrent runs on one
// worker, isolation of runaway guests, graceful SIGTERM. Real processes, real SQLite, real HTTP.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, exited, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, runIn, runsIn, startRuns, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

describe("dwe worker", () => {
  let w: ReturnType<typeof workdir>;
  // The CLI runs in the test's directory, as the worker does: relative paths (--input @FILE) resolve there.
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  let server: CountingServer;
  let url: string;
  const workers: WorkerProcess[] = [];

  beforeEach(async () => {
    w = workdir("dwe-worker-");
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    await server.stop();
    w.cleanup();
  });

  const worker = (args: string[] = [], env: Record<string, string> = {}) => {
    const p = startWorker(w, args, env);
    workers.push(p);
    return p;
  };

  it("a second worker on the same host takes over a SIGKILLed worker's run at once, not after its lease; effects before the kill happen once", async () => {
    const [id] = await startRuns(w, [
      [WORKER_WASM, "--entry", "steps", "--id", "k1", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url, n: 5, sleep_ms: 2000 })],
    ]);
    // A 30 s lease: only seeing the dead pid explains a takeover within it.
    const long = { DWE_LEASE_TTL_MS: "30000" };
    const a = worker([], long);
    await waitFor("two steps", () => server.received.length >= 2);
    // B is up and polling before the kill, so the time below is the takeover, not B's start-up.
    const b = worker([], long);
    await waitFor("B started", () => b.log().includes("started on"), 30_000);
    const seen = server.received.length;
    expect(seen).toBeLessThan(5);
    await waitFor("A's next step", () => server.received.length > seen, 30_000);
    await delay(150); // inside the 2 s sleep after that step: nothing in flight
    const killedAt = Date.now();
    expect((await a.stop("SIGKILL")).signal).toBe("SIGKILL");

    await waitFor("B's first request", () => server.received.length > seen + 1, 40_000);
    const takeover = Date.now() - killedAt;
    console.log(`takeover after SIGKILL: ${takeover} ms (lease 30 s)`);
    expect(takeover).toBeLessThan(10_000);
    const done = await waitFor("completion", () => {
      const r = runIn(w.db, id!);
      return r.status === "completed" && r;
    });
    expect(JSON.parse(done.output!)).toEqual({ steps: 5 });
    expect(done.attempts).toBe(2);
    const bodies = server.received.map((r) => r.body);
    expect(bodies).toEqual(["0", "1", "2", "3", "4"]);
    expect(new Set(server.received.map((r) => r.key)).size).toBe(5);
    await waitFor("B's report", () => b.log().includes(`run ${id} completed`), 30_000);
  });

  it("a worker whose lease was taken is fenced: it writes nothing more to that run", async () => {
    // Worker A holds the run while its HTTP request hangs; its lease is stolen (expired under a
    // very long heartbeat interval is hard to force, so B takes it with `dwe resume`-style steal is
    // not available: instead A is SIGSTOPped past its lease, B finishes the run, then A continues).
    const [id] = await startRuns(w, [
      [WORKER_WASM, "--entry", "steps", "--id", "f1", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url, n: 3, sleep_ms: 300 })],
    ]);
    const a = worker();
    await waitFor("first step", () => server.received.length >= 1);
    a.child.kill("SIGSTOP");
    const b = worker();
    const done = await waitFor("completion by B", () => runIn(w.db, id!).status === "completed" && runIn(w.db, id!));
    a.child.kill("SIGCONT");
    await delay(1500); // A wakes up, finds its lease gone
    const after = runIn(w.db, id!);
    expect(after).toEqual(done);
    expect(a.log()).toContain(`run ${id} lost its lease`);
    expect(b.log()).toContain(`run ${id} completed`);
  });

  it("200 runs waiting on a 1 s HTTP endpoint finish under one worker in a small multiple of 1 s", async () => {
    server.hold = () => delay(1000);
    const n = 200;
    await startRuns(
      w,
      Array.from({ length: n }, (_, i) => [
        WORKER_WASM,
        "--entry",
        "slow",
        "--id",
        `s${i}`,
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url }),
      ]),
    );
    // Warm the module cache (asyncify instrumentation happens once per module) with one run first.
    const t0 = Date.now();
    worker(["--concurrency", String(n)]);
    await waitFor("all completed", () => runsIn(w.db, "status = 'completed'").length === n, 60_000, 100);
    const elapsed = Date.now() - t0;
    console.log(`200 slow runs: ${elapsed} ms wall time (worker start to last completion)`);
    expect(server.received.length).toBe(n);
    expect(elapsed).toBeLessThan(10_000);
  });

  it("an infinite loop is stopped by its timeout; the other runs of the same thread complete", async () => {
    server.hold = () => delay(300);
    const others = Array.from({ length: 5 }, (_, i) => [
      WORKER_WASM,
      "--entry",
      "steps",
      "--id",
      `o${i}`,
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url, n: 3, sleep_ms: 200 }),
    ]);
    await startRuns(w, [
      [WORKER_WASM, "--entry", "spin", "--id", "spin", "--timeout", "1500"],
      [WORKER_WASM, "--entry", "spin_calls", "--id", "spin-calls", "--timeout", "1500"],
      [WORKER_WASM, "--entry", "hog", "--id", "hog", "--max-memory", "16M"],
      ...others,
    ]);
    const p = worker(["--threads", "1"]);
    await waitFor("all ended", () => runsIn(w.db, "status IN ('completed', 'failed')").length === 8, 60_000, 100);
    const spin = runIn(w.db, "spin");
    expect(spin.status).toBe("failed");
    expect(JSON.parse(spin.error!)).toMatchObject({ code: "timeout" });
    expect((JSON.parse(spin.error!) as { message: string }).message).toContain("ran past its timeout of 1500 ms");
    const calls = runIn(w.db, "spin-calls");
    expect(calls.status).toBe("failed");
    expect((JSON.parse(calls.error!) as { code: string }).code).toBe("timeout");
    expect(runIn(w.db, "hog").status).toBe("failed");
    for (let i = 0; i < 5; i++) expect(runIn(w.db, `o${i}`).status).toBe("completed");
    expect(server.received.length).toBeGreaterThanOrEqual(15);
    expect(p.child.exitCode).toBeNull(); // the worker carries on
  });

  it("SIGTERM: in-flight HTTP finishes and is journaled, leases are released, exit 0; another worker finishes the run", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    server.hold = (r) => (r.body === "1" ? held : Promise.resolve());
    const [id] = await startRuns(w, [
      [WORKER_WASM, "--entry", "steps", "--id", "t1", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url, n: 3, sleep_ms: 0 })],
    ]);
    const a = worker();
    await waitFor("step 1 in flight", () => server.received.length >= 2);
    const t0 = Date.now();
    a.child.kill("SIGTERM");
    await delay(500);
    release();
    const exit = await exited(a.child);
    expect(exit.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(13_000);
    const r = runIn(w.db, id!);
    expect(r.status).toBe("pending");
    const shown = JSON.parse((await cli(["show", id!, "--json"])).stdout) as {
      journal: { intents: number; byOp: Record<string, number> };
    };
    expect(shown.journal.intents).toBe(0);
    expect(shown.journal.byOp["http.request"]).toBe(2);

    worker();
    await waitFor("completion", () => runIn(w.db, id!).status === "completed");
    expect(server.received.map((x) => x.body)).toEqual(["0", "1", "2"]);
  });
});
