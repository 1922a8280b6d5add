// Poison runs (issue 10.5): a run whose attempts crash the executor thread outside guest code is
// failed after --max-crashes attempts in a row, saying so; runs that shared its thread go on.
// DWE_TEST_CRASH_RUN=ID makes an executor thread die (an uncaught error) whenever it is given run ID.
import { describe, expect, it } from "vitest";
const bed = workerTestbed("dwe-poison-");
import { WORKER_WASM, runIn, waitFor, workerTestbed } from "./support/worker.js";

describe("poison runs", () => {
  const ended = (id: string) => ["completed", "failed", "cancelled"].includes(runIn(bed.db, id).status);

  it("a run that crashes its executor thread outside guest code fails after 5 attempts in a row (the default), saying so; a run sharing the worker completes", async () => {
    await bed.startRuns([
      [WORKER_WASM, "--entry", "slow", "--id", "poison", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url: bed.url })],
      [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        "fine",
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 3, sleep_ms: 300 }),
      ],
    ]);
    bed.worker(["--threads", "1"], { DWE_TEST_CRASH_RUN: "poison" });
    await waitFor("both runs to end", () => ended("poison") && ended("fine"), 60_000);
    const poison = runIn(bed.db, "poison");
    expect(poison.status).toBe("failed");
    const error = JSON.parse(poison.error!) as { code: string; message: string };
    expect(error.code).toBe("crashed");
    expect(error.message).toContain("after 5 attempts in a row crashed outside guest code");
    expect(error.message).toContain("DWE_TEST_CRASH_RUN");
    expect(poison.attempts).toBe(5);
    // It never reached its request.
    expect(bed.server.received.filter((r) => r.method === "GET")).toHaveLength(0);
    const fine = runIn(bed.db, "fine");
    expect(fine.status).toBe("completed");
    expect(JSON.parse(fine.output!)).toEqual({ steps: 3 });
    // The worker is still up and takes new work.
    await bed.startRuns([
      [WORKER_WASM, "--entry", "slow", "--id", "after", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url: bed.url })],
    ]);
    await waitFor("the later run", () => ended("after"), 30_000);
    expect(runIn(bed.db, "after").status).toBe("completed");
  });

  it("--max-crashes N sets the bound; a bad value is refused with a one-line error", async () => {
    await bed.startRuns([
      [WORKER_WASM, "--entry", "slow", "--id", "poison", "--allow-net", "127.0.0.1", "--input", JSON.stringify({ url: bed.url })],
    ]);
    const bad = await bed.cli(["worker", "--max-crashes", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("--max-crashes");
    bed.worker(["--max-crashes", "2"], { DWE_TEST_CRASH_RUN: "poison" });
    await waitFor("the run to end", () => ended("poison"), 60_000);
    const poison = runIn(bed.db, "poison");
    expect(poison.status).toBe("failed");
    expect(poison.attempts).toBe(2);
    expect(poison.error).toContain("after 2 attempts in a row crashed outside guest code");
    expect(poison.error).toContain("--max-crashes 2");
  });
});
