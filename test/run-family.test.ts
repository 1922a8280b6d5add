// `dwe run` of a workflow that starts child runs and joins them executes the children in the same
// process (engine/executor/run-family.ts), without a worker; a SIGKILL and `dwe resume` go on.
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OP_CODES } from "../engine/kernel/ops.js";
import { dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, readDb, runsIn, waitFor } from "./support/worker.js";

describe("dwe run executes the child runs a run waits for", () => {
  let w: ReturnType<typeof workdir>;
  let server: CountingServer;
  let url: string;
  beforeEach(async () => {
    w = workdir("dwe-family-");
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    await server.stop();
    w.cleanup();
  });
  const here = () => ({ cwd: w.dir, db: w.db });
  const fanout = (id: string, n: number, sleepMs: number) => [
    "run",
    WORKER_WASM,
    "--entry",
    "fanout",
    "--id",
    id,
    "--allow-net",
    "127.0.0.1",
    "--input",
    JSON.stringify({ url, n, sleep_ms: sleepMs }),
  ];

  it("a fan-out of 4 children completes in the foreground, the children running at the same time", async () => {
    // Each child's request is answered once all four are in flight (or after 20 s): children run
    // one after the other would have one in flight at a time.
    let inFlight = 0;
    let most = 0;
    let allIn: () => void = () => undefined;
    const four = new Promise<void>((r) => (allIn = r));
    server.hold = async () => {
      most = Math.max(most, ++inFlight);
      if (inFlight === 4) allIn();
      await Promise.race([four, delay(20_000)]);
      inFlight--;
    };
    const r = await dweAsync(fanout("f", 4, 1500), here());
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { children: unknown[] }).children).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
    expect(runsIn(w.db, "parent_id = 'f'").map((c) => c.status)).toEqual(["completed", "completed", "completed", "completed"]);
    expect(most).toBe(4);
  });

  it("killed while its children sleep, `dwe resume` runs the rest and no child posts twice", async () => {
    const child = spawnDwe(fanout("k", 3, 2500), here());
    await waitFor("3 children posted", () => server.received.length >= 3);
    // Killed once every child's post is journaled and its sleep begun (a post whose result was not
    // committed yet may be sent again, at least once, with its key: not what this test is about).
    await waitFor("3 children asleep", () => sleepingChildren(w.db, "k") >= 3, 60_000, 10);
    const postsAtKill = server.received.length;
    child.kill("SIGKILL");
    await exited(child);
    const r = await dweAsync(["resume", "k"], here());
    expect(r.code).toBe(0);
    expect(server.received.map((x) => x.body).sort()).toEqual(["child 0", "child 1", "child 2"]);
    expect(runsIn(w.db, "parent_id = 'k'").every((c) => c.status === "completed")).toBe(true);
    expect(postsAtKill).toBe(3);
  });
});

/** How many children of `parent` have journaled the start of their sleep (after the post). */
function sleepingChildren(db: string, parent: string): number {
  return readDb(db, (conn) => {
    const row = conn
      .prepare("SELECT count(DISTINCT j.rid) AS n FROM journal j JOIN runs r ON r.rid = j.rid WHERE r.parent_id = ? AND j.op = ?")
      .get(parent, OP_CODES.sleep) as { n: number };
    return row.n;
  });
}
