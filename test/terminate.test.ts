// `dwe terminate RUN` ends a run now, even one whose guest loops in its own code: the store ends it
// (cancelled, reason terminated, lease token bumped) and its holder, a worker or `dwe run --timeout`,
// stops the run's thread once its heartbeat sees the lease gone. On SQLite and on PostgreSQL.
import { describe, expect, it } from "vitest";
import { exited, example, spawnDwe } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { WORKER_WASM, waitFor, workerTestbed, testStores } from "./support/worker.js";

const STORES = await testStores("dwe terminate");
const HELLO = example("hello");

interface RunJson {
  id: string;
  status: string;
  error: { code: string; message: string } | null;
  children: { id: string; status: string }[];
}

describe.each(STORES)("dwe terminate on $store", (on) => {
  const { enabled } = on;
  const bed = workerTestbed("dwe-terminate-", { on });

  const show = async (id: string): Promise<RunJson> => {
    const r = await bed.cli(["show", id, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as RunJson;
  };
  /** For waitFor: the run once it has this status (it may not exist yet). */
  const statusIs = (id: string, status: string) => async () => {
    const r = await bed.cli(["show", id, "--json"]);
    const run = r.code === 0 ? (JSON.parse(r.stdout) as RunJson) : null;
    return run?.status === status && run;
  };
  const start = async (args: string[]) => {
    const r = await bed.cli(["start", ...args]);
    expect(r.code, r.stderr).toBe(0);
  };
  const spin = () => abiGuest(bed.dir, "spin", { body: "(loop $forever (br $forever))" });
  const terminated = (r: RunJson) => expect(r).toMatchObject({ status: "cancelled", error: { code: "terminated" } });

  it.skipIf(!enabled)("a pending run ends at once, final, reason terminated; its journal stays verifiable", async () => {
    await start([HELLO, "--id", "idle"]);
    const t = await bed.cli(["terminate", "idle"]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toBe("idle terminated\n");
    terminated(await show("idle"));
    const v = await bed.cli(["verify", "idle"]);
    expect(v.code, v.stderr).toBe(0);
    // A final run is refused in one line, as `dwe cancel` refuses it, and left as it was.
    const again = await bed.cli(["terminate", "idle", "--json"]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toContain("run idle is already cancelled; only a pending, running or suspended run can be terminated");
    terminated(await show("idle"));
    const missing = await bed.cli(["terminate", "no-such-run"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no run with id 'no-such-run'");
  });

  it.skipIf(!enabled)("a guest spinning in its own code under a worker: its thread is stopped, and the next run completes", async () => {
    await start([spin(), "--id", "spin"]);
    bed.worker(["--threads", "1"], { DWE_LEASE_TTL_MS: "3000" }); // the watchdog is 60 s
    await waitFor("the spin run claimed", statusIs("spin", "running"), 30_000, 200);
    // The worker's one thread is busy: this run is assigned to it and waits behind the spinning guest.
    await start([HELLO, "--id", "after"]);
    const t = await bed.cli(["terminate", "spin", "--json"]);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toEqual({ terminated: ["spin"] });
    terminated(await show("spin"));
    await waitFor("the next run completed", statusIs("after", "completed"), 60_000, 200);
    terminated(await show("spin")); // the worker wrote nothing more for it
  });

  it.skipIf(!enabled)("`dwe run --timeout` holding a spinning run exits with the cancelled code and says it was terminated", async () => {
    const child = spawnDwe(["run", spin(), "--id", "held", "--timeout", "600000"], { cwd: bed.dir, db: bed.db });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = exited(child);
    await waitFor("the held run executing", statusIs("held", "running"), 30_000, 200);
    const t = await bed.cli(["terminate", "held"]);
    expect(t.code, t.stderr).toBe(0);
    expect(await done).toEqual({ code: 3, signal: null });
    expect(stderr).toBe("dwe: run held\ndwe: run held was terminated\n");
    terminated(await show("held"));
  });

  it.skipIf(!enabled)("a plain `dwe run` (main thread) whose guest keeps calling the host stops at its next call, saying so", async () => {
    const child = spawnDwe(["run", WORKER_WASM, "--entry", "spin_calls", "--id", "calls"], { cwd: bed.dir, db: bed.db });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = exited(child);
    await waitFor("the calls run executing", statusIs("calls", "running"), 30_000, 200);
    const t = await bed.cli(["terminate", "calls"]);
    expect(t.code, t.stderr).toBe(0);
    expect(await done).toEqual({ code: 3, signal: null });
    expect(stderr).toBe("dwe: run calls\ndwe: run calls was terminated\n");
    terminated(await show("calls"));
    const v = await bed.cli(["verify", "calls"]);
    expect(v.code, v.stderr).toBe(0);
  });

  it.skipIf(!enabled)("terminating a parent ends its children that are not final", async () => {
    await start(
      [WORKER_WASM, "--entry", "fanout", "--id", "parent", "--allow-net", "127.0.0.1"].concat([
        "--input",
        JSON.stringify({ url: bed.url, n: 2, sleep_ms: 600_000 }),
      ]),
    );
    bed.worker();
    const parent = await waitFor("the parent waiting for its children", statusIs("parent", "suspended"), 60_000, 200);
    const kids = parent.children.map((c) => c.id);
    expect(kids).toHaveLength(2);
    await waitFor(
      "the children sleeping",
      async () => (await Promise.all(kids.map(show))).every((c) => c.status === "suspended"),
      60_000,
      200,
    );
    const t = await bed.cli(["terminate", "parent", "--json"]);
    expect(t.code, t.stderr).toBe(0);
    expect(JSON.parse(t.stdout)).toEqual({ terminated: ["parent", ...kids] });
    for (const id of ["parent", ...kids]) terminated(await show(id));
  });
});
