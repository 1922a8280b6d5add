// `dwe resume` and the process holding a run (issue 10): a holder killed with SIGKILL that stays a
// zombie (its parent does not reap it, as where PID 1 does not) is dead, so resume proceeds at once;
// a holder that may be alive (stopped) makes resume wait, saying who holds the run and until when,
// and `--no-wait` refuse at once; a suspended run whose signal has arrived continues at once.
import { afterEach, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { openStoreAt } from "../engine/store/open.js";
import type { RunRecord } from "../engine/store/types.js";
import { DWE, exited, spawnDwe } from "./support/cli.js";
import { processState } from "./support/sender-pid.js";
import { WORKER_WASM, waitFor, workerTestbed } from "./support/worker.js";

describe("dwe resume and the lease holder", () => {
  const bed = workerTestbed("dwe-resume-wait-");
  let release: () => void = () => undefined;
  const parents: ChildProcess[] = [];

  afterEach(async () => {
    release();
    for (const p of parents.splice(0)) {
      p.kill("SIGKILL");
      await exited(p);
    }
  });

  const getRun = async (id: string): Promise<RunRecord> => {
    const store = openStoreAt(bed.db, "process");
    try {
      return (await store.getRun(id))!;
    } finally {
      await store.close();
    }
  };

  /**
   * `dwe run` of a run whose first HTTP request is held, under a parent (`sleep`) that never reaps
   * its children: once killed, the `dwe run` process stays a zombie. Returns its pid.
   */
  const runUnderNonReapingParent = async (id: string): Promise<number> => {
    const held = new Promise<void>((r) => (release = r));
    bed.server.hold = () => held;
    const cmd = [process.execPath, DWE, "--db", bed.db, "run", WORKER_WASM, "--entry", "slow", "--id", id, "--allow-net", "127.0.0.1"]
      .map((a) => `'${a}'`)
      .join(" ");
    const input = JSON.stringify({ url: bed.url });
    const parent = spawn("sh", ["-c", `${cmd} --input '${input}' >/dev/null 2>&1 & exec sleep 600`], { cwd: bed.dir, stdio: "ignore" });
    parents.push(parent);
    await waitFor("the held request", () => bed.server.received.length === 1, 60_000);
    const owner = (await getRun(id)).leaseOwner!;
    return Number(owner.split(":")[1]);
  };

  it("a holder killed with SIGKILL that stays a zombie is dead: resume proceeds at once", async () => {
    const pid = await runUnderNonReapingParent("z1");
    process.kill(pid, "SIGKILL");
    await waitFor("a zombie", () => processState(pid) === "Z", 10_000);
    const before = await getRun("z1");
    bed.server.hold = () => Promise.resolve();
    const r = await bed.cli(["resume", "z1", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    // It did not wait for the dead process's 30 s lease.
    expect(Date.now()).toBeLessThan(before.leaseExpiresAt!);
    expect((await getRun("z1")).status).toBe("completed");
    expect(bed.server.received.map((q) => q.key)).toEqual(["z1:1", "z1:1"]);
  });

  it("a holder that may be alive: --no-wait refuses at once; resume waits, saying who holds it until when, and goes on when it dies", async () => {
    const pid = await runUnderNonReapingParent("z2");
    process.kill(pid, "SIGSTOP");
    await waitFor("stopped", () => processState(pid) === "T", 10_000);
    const until = new Date((await getRun("z2")).leaseExpiresAt!).toISOString();

    const refused = await bed.cli(["resume", "z2", "--no-wait"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`run z2 is being executed by `);
    expect(refused.stderr).toContain(`:${pid}:`);
    expect(refused.stderr).toContain(`(lease until ${until}); not resumed (--no-wait)`);

    const waiting = spawnDwe(["resume", "z2", "--quiet"], { cwd: bed.dir, db: bed.db });
    let stderr = "";
    waiting.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((r) => waiting.on("exit", (code) => r(code)));
    await waitFor("resume says it waits", () => stderr.includes("waiting for that lease to end"), 60_000);
    expect(stderr).toContain(`(lease until ${until})`);
    await delay(1_000);
    expect(waiting.exitCode).toBeNull(); // still waiting: the holder may be alive

    bed.server.hold = () => Promise.resolve();
    process.kill(pid, "SIGKILL");
    expect(await exit).toBe(0);
    expect(Date.now()).toBeLessThan(Date.parse(until));
    expect((await getRun("z2")).status).toBe("completed");
  });

  it("a suspended run whose signal has arrived continues at once, not at its wait's timeout", async () => {
    const input = JSON.stringify({ name: "go", count: 1, timeout_ms: 120_000 });
    const started = await bed.cli(["run", WORKER_WASM, "--entry", "signals", "--id", "s1", "--input", input]);
    expect(started.code, started.stderr).toBe(75);
    const early = await bed.cli(["resume", "s1", "--no-wait"]);
    expect(early.code).toBe(75);
    expect(early.stderr).toContain("run s1 waits for a signal until");

    const sent = await bed.cli(["signal", "s1", "go", "--data", JSON.stringify({ n: 7 })]);
    expect(sent.code, sent.stderr).toBe(0);
    const t0 = Date.now();
    const r = await bed.cli(["resume", "s1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const run = await getRun("s1");
    expect(run.status).toBe("completed");
    expect(JSON.parse(Buffer.from(run.output!).toString())).toEqual({ got: [{ n: 7 }], timed_out: false });
  });
});
