// The one writer of a run's end (engine/executor/run-end.ts), in process on a real SQLite file: an
// attempt writes its run's end once, through AttemptEnd, and a run given back is never finished
// afterwards (a worker's attempt of an unloadable module used to release the run, then fail it).
import { afterEach, describe, expect, it } from "vitest";
import { DweError } from "../engine/kernel/errors.js";
import { AttemptEnd, released } from "../engine/executor/run-end.js";
import { executeAttempt } from "../engine/executor/run-executor.js";
import { countingStore } from "./support/counting-store.js";
import { leasedRun, type LeasedRun } from "./support/store-run.js";

describe("a run's end", () => {
  let t: LeasedRun;
  afterEach(async () => t.close());

  const attempt = (store: LeasedRun["store"], failOnEngineError: boolean) =>
    executeAttempt("r1", {
      store,
      owner: t.lease.owner,
      cwd: t.dir,
      claimed: { lease: t.lease, previous: "pending", wakeAt: null },
      heartbeat: false,
      failOnEngineError,
    });

  it("is written once per attempt: a run given back cannot be finished afterwards", async () => {
    t = await leasedRun();
    const ending = new AttemptEnd(t.store, t.lease);
    expect(await ending.write(released())).toEqual({ status: "pending", error: null });
    expect(ending.written).toBe(true);
    await expect(ending.write({ status: "failed", error: { code: "late", message: "too late" } })).rejects.toThrow(
      /end of run r1 was written already \(released\); it is not written again \(failed\)/,
    );
    expect(await t.store.getRun("r1")).toMatchObject({ status: "pending", error: null, leaseOwner: null, finishedAt: null });
  });

  it("a worker's attempt of a run whose module cannot be loaded fails it with one write, not a release and then a failure", async () => {
    t = await leasedRun();
    const c = countingStore(t.store);
    const thrown = await attempt(c.store, true).catch((err: unknown) => err);
    expect(thrown).toBeInstanceOf(DweError);
    const code = (thrown as DweError).code;
    expect(c.argsOf("finishRun")).toEqual([[t.lease, { status: "failed", error: { code, message: (thrown as DweError).message } }]]);
    expect(await t.store.getRun("r1")).toMatchObject({ status: "failed", error: { code } });
  });

  it("dwe run's attempt of such a run gives it back as it was, with one write, and throws the error", async () => {
    t = await leasedRun();
    const c = countingStore(t.store);
    await expect(attempt(c.store, false)).rejects.toBeInstanceOf(DweError);
    expect(c.argsOf("finishRun")).toEqual([[t.lease, { status: "released", previous: "pending", wakeAt: null }]]);
    expect(await t.store.getRun("r1")).toMatchObject({ status: "pending", error: null, leaseOwner: null });
  });
});
