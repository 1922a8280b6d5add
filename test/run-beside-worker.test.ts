// `dwe run` beside a worker polling the same database (issue 15's "create and lease at once"): the
// run is created under the lease of the `dwe run` that executes it, in one transaction, so a worker
// polling at that moment cannot claim it first. Before, a worker polling every millisecond took
// every such run, and `dwe run` exited 2 ("is being executed by ...", or "is completed").
import { describe, expect, it } from "vitest";
import { example } from "./support/cli.js";
import { waitFor, workerTestbed, testStores } from "./support/worker.js";

const STORES = await testStores("dwe run beside a worker");
const HELLO = example("hello");
const RUNS = 6;

describe.each(STORES)("dwe run beside a polling worker on $store", (on) => {
  const { enabled } = on;
  const bed = workerTestbed("dwe-beside-", { on });

  (enabled ? it : it.skip)("every run is executed by the dwe run that created it, never claimed by the worker", async () => {
    const w = bed.worker(["--poll", "1"]);
    // The worker is up and polling before the first run is created.
    await waitFor("the worker started", () => w.log().includes("started on"), 30_000);
    for (let i = 0; i < RUNS; i++) {
      const r = await bed.cli(["run", "--id", `r${i}`, HELLO, "--input", `{"name":"n${i}"}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ greeting: `hello, n${i}` });
      const show = await bed.cli(["show", `r${i}`, "--json"]);
      expect(JSON.parse(show.stdout)).toMatchObject({ status: "completed", attempts: 1 });
    }
    // The worker was polling all along and executed none of them.
    expect(w.child.exitCode).toBeNull();
    expect(w.log()).not.toMatch(/\br\d+\b/);
    expect(w.log()).toContain("poll 1 ms");
  });
});
