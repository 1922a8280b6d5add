// The one harness that runs a guest where it can be killed (engine/executor/attempt-thread.ts):
// `dwe run --timeout`, `dwe worker` and `dwe verify` are uses of it, so a guest looping in its own
// code is stopped the same way, with the same error, whichever of them executes it.
import { afterAll, describe, expect, it } from "vitest";
import { dwe, dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { runIn, runsIn, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";
import { RunTimeout, describeError } from "../dist/engine/kernel/errors.js";
import { openStoreAt } from "../dist/engine/store/open.js";
import { AttemptEnd } from "../dist/engine/executor/run-end.js";
import { AttemptThread, type AttemptThreadEvent, type ThreadExit } from "../dist/engine/executor/attempt-thread.js";

const SPIN = "(loop $forever (br $forever))";

describe("one attempt thread for run --timeout, verify and the worker", () => {
  const w = workdir();
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    for (const p of workers) await p.stop("SIGKILL");
    w.cleanup();
  });
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const spin = abiGuest(w.dir, "spin", { body: SPIN });
  const storedError = (id: string) => JSON.parse(runIn(w.db, id).error!) as { code: string; message: string };

  it("a guest looping in its own code is failed with the same timeout error by dwe run --timeout and by dwe worker", async () => {
    const here = cli(["run", spin, "--id", "here", "--timeout", "300", "--quiet"]);
    const expected = describeError(new RunTimeout("here", 300));
    expect(r(here)).toEqual({ code: 1, stderr: `dwe: run here failed: timeout: ${expected.message}` });
    expect(storedError("here")).toEqual(expected);

    expect(cli(["run", spin, "--id", "there", "--timeout", "300", "--detach"]).code).toBe(0);
    const worker = startWorker(w);
    workers.push(worker);
    await waitFor("the worker's run ended", () => runIn(w.db, "there").status === "failed");
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    expect(storedError("there")).toEqual(describeError(new RunTimeout("there", 300)));
    // `dwe show` of either says the same, and verify replays both to the same verdict and exit code.
    const verdicts = ["here", "there"].map((id) => {
      const v = cli(["verify", id, "--timeout", "300", "--json"]);
      const report = JSON.parse(v.stdout) as { outcome: string; intact: boolean; deterministic: boolean };
      return { code: v.code, outcome: report.outcome, intact: report.intact, deterministic: report.deterministic };
    });
    expect(verdicts[0]).toEqual({ code: 0, outcome: "failed_after_journal", intact: true, deterministic: true });
    expect(verdicts[1]).toEqual(verdicts[0]);
  }, 120_000);

  it("dwe cancel ends a dwe run --timeout guest looping in its own code soon, as cancelled, not at its timeout", async () => {
    const child = spawnDwe(["run", spin, "--id", "cancel-me", "--timeout", "600000", "--quiet"], { cwd: w.dir, db: w.db });
    await waitFor("the run executing", () => runsIn(w.db, "id = ?", "cancel-me")[0]?.status === "running");
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const c = await dweAsync(["cancel", "cancel-me"], { cwd: w.dir, db: w.db });
    expect(c.code, c.stderr).toBe(0);
    // The run --timeout process exits as a cancelled run does (exit 3), long before its timeout.
    expect(await exited(child), stderr).toEqual({ code: 3, signal: null });
    expect(stderr.trim()).toBe("dwe: run cancel-me was cancelled");
    expect(runIn(w.db, "cancel-me").status).toBe("cancelled");
    expect(storedError("cancel-me").code).toBe("cancelled");
  }, 60_000);

  it("its owner is told, as typed events, that the job started and that its thread was stopped for the job's timeout; the owner writes the end once", async () => {
    expect(cli(["run", spin, "--id", "owned", "--timeout", "200", "--detach"]).code).toBe(0);
    const store = openStoreAt(w.db, "process");
    try {
      const lease = await store.acquireLease("owned", "test:owner", 30_000, false);
      const events: AttemptThreadEvent[] = [];
      const thread = new AttemptThread({
        db: w.db,
        durability: "process",
        attempt: { owner: "test:owner", cwd: w.dir },
        on: (e) => events.push(e),
      });
      thread.start({ kind: "attempt", job: 7, lease, previous: "pending", wakeAt: null, logs: false }, "owned", 200);
      await thread.exited;
      const timeout = describeError(new RunTimeout("owned", 200));
      expect(events.map((e) => e.type)).toEqual(["started", "exit"]);
      expect(events[1]).toEqual({ type: "exit", jobs: [7], stopped: { job: 7, end: { status: "failed", error: timeout } }, crash: null });
      // The thread wrote nothing: the run is still the owner's, and the owner ends it.
      expect(runIn(w.db, "owned").status).toBe("running");
      const ending = new AttemptEnd(store, lease);
      const end = events.find((e): e is ThreadExit => e.type === "exit")!.stopped!.end!;
      expect(await ending.write(end)).toEqual({ status: "failed", error: timeout });
      await expect(ending.write(end)).rejects.toThrow(/written already/);
      expect(storedError("owned")).toEqual(timeout);
    } finally {
      await store.close();
    }
  }, 60_000);
});

function r(x: { code: number | null; stderr: string }): { code: number | null; stderr: string } {
  return { code: x.code, stderr: x.stderr.trim() };
}
