// Retry policies (SDK: tryHttpRetry): each attempt is a journaled http.request, each backoff a durable sleep.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dweAsync, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM } from "./support/worker.js";

describe("retry policy", () => {
  let w: ReturnType<typeof workdir>;
  // The CLI runs in the test's directory, as the worker does: relative paths (--input @FILE) resolve there.
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  let server: CountingServer;
  let url: string;
  beforeEach(async () => {
    w = workdir("dwe-retry-");
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    await server.stop();
    w.cleanup();
  });

  it("retries 503 with backoff; every attempt and backoff is journaled", async () => {
    server.hold = () => {
      server.status = server.received.length <= 2 ? 503 : 200;
      return Promise.resolve();
    };
    const run = await cli([
      "run",
      WORKER_WASM,
      "--entry",
      "flaky",
      "--id",
      "r1",
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url, attempts: 4 }),
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 200 });
    expect(server.received.length).toBe(3);
    expect(new Set(server.received.map((r) => r.key)).size).toBe(3);
    const shown = JSON.parse((await cli(["show", "r1", "--json"])).stdout) as { journal: { byOp: Record<string, number> } };
    expect(shown.journal.byOp).toMatchObject({ "http.request": 3, sleep: 2 });
  });

  it("gives up after the policy's attempts and returns the last response", async () => {
    server.status = 503;
    const run = await cli([
      "run",
      WORKER_WASM,
      "--entry",
      "flaky",
      "--allow-net",
      "127.0.0.1",
      "--input",
      JSON.stringify({ url, attempts: 2 }),
    ]);
    expect(JSON.parse(run.stdout)).toEqual({ status: 503 });
    expect(server.received.length).toBe(2);
  });
});
