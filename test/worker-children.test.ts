// Child runs (fan-out, fan-in) and cancellation.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, runIn, runsIn, startRuns, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

describe("child runs and cancellation", () => {
  let w: ReturnType<typeof workdir>;
  // The CLI runs in the test's directory, as the worker does: relative paths (--input @FILE) resolve there.
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  let server: CountingServer;
  let url: string;
  const workers: WorkerProcess[] = [];
  beforeEach(async () => {
    w = workdir("dwe-children-");
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    await server.stop();
    w.cleanup();
  });
  const worker = () => {
    const p = startWorker(w);
    workers.push(p);
    return p;
  };

  it("fan-out: a parent starts 10 children, is killed while they run, and after recovery joins exactly 10, none run twice", async () => {
    const [id] = await startRuns(w, [
      [
        WORKER_WASM,
        "--entry",
        "fanout",
        "--id",
        "p",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url, n: 10, sleep_ms: 2500 }),
      ],
    ]);
    const a = worker();
    await waitFor("10 children posted", () => server.received.length >= 10);
    await delay(200);
    expect(runsIn(w.db, "parent_id = 'p'").length).toBe(10);
    await a.stop("SIGKILL");
    worker();
    const parent = await waitFor("parent completed", () => runIn(w.db, id!).status === "completed" && runIn(w.db, id!), 60_000);
    const out = JSON.parse(parent.output!) as { children: { i: number }[]; ids: string[] };
    expect(out.children).toEqual(Array.from({ length: 10 }, (_, i) => ({ i })));
    expect(new Set(out.ids).size).toBe(10);
    for (const cid of out.ids) expect(cid).toMatch(/^p\.\d+$/);
    const children = runsIn(w.db, "parent_id = 'p'");
    expect(children.length).toBe(10);
    expect(children.every((c) => c.status === "completed")).toBe(true);
    // Each child's POST happened once (they were all done before the kill).
    expect(server.received.map((r) => r.body).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `child ${i}`).sort());

    const shown = JSON.parse((await cli(["show", "p", "--json"])).stdout) as { children: { id: string; status: string }[] };
    expect(shown.children.map((c) => c.id).sort()).toEqual([...out.ids].sort());
    const child = JSON.parse((await cli(["show", out.ids[0]!, "--json"])).stdout) as { parent: string };
    expect(child.parent).toBe("p");
  });

  it("cancel: a suspended run is cancelled at once and never resumed", async () => {
    const [id] = await startRuns(w, [[WORKER_WASM, "--entry", "signals", "--id", "s", "--input", JSON.stringify({ name: "go" })]]);
    worker();
    await waitFor("suspended", () => runIn(w.db, id!).status === "suspended");
    const r = await cli(["cancel", id!]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("s cancelled");
    await cli(["signal", id!, "go"]).then((x) => expect(x.code).toBe(2));
    await delay(500);
    expect(runIn(w.db, id!).status).toBe("cancelled");
    const resumed = await cli(["resume", id!]);
    expect(resumed.code).toBe(2);
  });

  it("cancel: a running parent and its children stop at their next host call or wait and end cancelled", async () => {
    const [id] = await startRuns(w, [
      [WORKER_WASM, "--entry", "fanout", "--id", "q", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url, n: 3, sleep_ms: 5000 })],
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "busy",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url, n: 1, sleep_ms: 8000 }),
      ],
    ]);
    worker();
    await waitFor("children running", () => server.received.filter((r) => r.body.startsWith("child")).length >= 3);
    await waitFor("busy sleeping", () => server.received.some((r) => r.body === "0"));
    await delay(200);
    const r = await cli(["cancel", id!]);
    expect(r.code).toBe(0);
    const busy = await cli(["cancel", "busy"]);
    expect(busy.stdout).toContain("busy cancelling");
    await waitFor("all cancelled", () => runsIn(w.db, "status = 'cancelled'").length === 5, 10_000);
    expect((JSON.parse(runIn(w.db, "busy").error!) as { code: string }).code).toBe("cancelled");
  });
});
