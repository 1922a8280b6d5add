// Child runs (fan-out, fan-in) and cancellation.
import { describe, expect, it } from "vitest";
const bed = workerTestbed("dwe-children-");
import { setTimeout as delay } from "node:timers/promises";
import { WORKER_WASM, runIn, runsIn, waitFor, workerTestbed } from "./support/worker.js";

describe("child runs and cancellation", () => {
  const worker = () => bed.worker();

  it("fan-out: a parent starts 10 children, is killed while they run, and after recovery joins exactly 10, none run twice", async () => {
    const [id] = await bed.startRuns([
      [
        WORKER_WASM,
        "--entry",
        "fanout",
        "--id",
        "p",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 10, sleep_ms: 2500 }),
      ],
    ]);
    const a = worker();
    await waitFor("10 children posted", () => bed.server.received.length >= 10);
    await delay(200);
    expect(runsIn(bed.db, "parent_id = 'p'").length).toBe(10);
    await a.stop("SIGKILL");
    worker();
    const parent = await waitFor("parent completed", () => runIn(bed.db, id!).status === "completed" && runIn(bed.db, id!), 60_000);
    const out = JSON.parse(parent.output!) as { children: { i: number }[]; ids: string[] };
    expect(out.children).toEqual(Array.from({ length: 10 }, (_, i) => ({ i })));
    expect(new Set(out.ids).size).toBe(10);
    for (const cid of out.ids) expect(cid).toMatch(/^p\.\d+$/);
    const children = runsIn(bed.db, "parent_id = 'p'");
    expect(children.length).toBe(10);
    expect(children.every((c) => c.status === "completed")).toBe(true);
    // Each child's POST happened once (they were all done before the kill).
    expect(bed.server.received.map((r) => r.body).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `child ${i}`).sort());

    const shown = JSON.parse((await bed.cli(["show", "p", "--json"])).stdout) as { children: { id: string; status: string }[] };
    expect(shown.children.map((c) => c.id).sort()).toEqual([...out.ids].sort());
    const child = JSON.parse((await bed.cli(["show", out.ids[0]!, "--json"])).stdout) as { parent: string };
    expect(child.parent).toBe("p");
  });

  it("cancel: a suspended run is cancelled at once and never resumed", async () => {
    const [id] = await bed.startRuns([[WORKER_WASM, "--entry", "signals", "--id", "s", "--input", JSON.stringify({ name: "go" })]]);
    worker();
    await waitFor("suspended", () => runIn(bed.db, id!).status === "suspended");
    const r = await bed.cli(["cancel", id!]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("s cancelled");
    await bed.cli(["signal", id!, "go"]).then((x) => expect(x.code).toBe(2));
    await delay(500);
    expect(runIn(bed.db, id!).status).toBe("cancelled");
    const resumed = await bed.cli(["resume", id!]);
    expect(resumed.code).toBe(2);
  });

  it("cancel: a running parent and its children stop at their next host call or wait and end cancelled", async () => {
    const [id] = await bed.startRuns([
      [
        WORKER_WASM,
        "--entry",
        "fanout",
        "--id",
        "q",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 3, sleep_ms: 5000 }),
      ],
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "busy",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 1, sleep_ms: 8000 }),
      ],
    ]);
    worker();
    await waitFor("children running", () => bed.server.received.filter((r) => r.body.startsWith("child")).length >= 3);
    await waitFor("busy sleeping", () => bed.server.received.some((r) => r.body === "0"));
    await delay(200);
    const r = await bed.cli(["cancel", id!]);
    expect(r.code).toBe(0);
    const busy = await bed.cli(["cancel", "busy"]);
    expect(busy.stdout).toContain("busy cancelling");
    await waitFor("all cancelled", () => runsIn(bed.db, "status = 'cancelled'").length === 5, 10_000);
    expect((JSON.parse(runIn(bed.db, "busy").error!) as { code: string }).code).toBe("cancelled");
  });
});
