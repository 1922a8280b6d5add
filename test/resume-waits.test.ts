// `dwe resume` and the process holding a run (issue 10): a holder killed with SIGKILL that stays a
// zombie (its parent does not reap it, as where PID 1 does not) is dead, so resume proceeds at once;
// a holder that may be alive (stopped) makes resume wait, saying who holds the run and until when,
// and `--no-wait` refuse at once; a suspended run whose signal has arrived continues at once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { openStoreAt } from "../engine/store/open.js";
import { DEAD_WORKERS } from "../engine/store/pg-worker-session.js";
import type { RunRecord } from "../engine/store/types.js";
import { DWE, exited, spawnDwe } from "./support/cli.js";
import { hostNamed, startHostWorker, type HostWorker } from "./support/hosts.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { processState } from "./support/sender-pid.js";
import { WORKER_WASM, waitFor, workerTestbed } from "./support/worker.js";

const pg = await pgTestsEnabled("resume of a dead worker's run");
// The worker is given another hostname, so that this host cannot tell from its pid that it died.
const elsewhere = hostNamed("host-elsewhere");
if ("unavailable" in elsewhere) process.stderr.write(`SKIPPED: resume of a dead worker's run on another host: ${elsewhere.unavailable}\n`);

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

describe.skipIf(!pg || "unavailable" in elsewhere)("dwe resume on PostgreSQL and the holder's database session", () => {
  let pgdb: TestDatabase | undefined;
  const bed = workerTestbed("dwe-resume-pg-", { db: () => pgdb?.url });
  let a: HostWorker | undefined;

  beforeAll(async () => {
    pgdb = await createTestDatabase();
  });
  afterEach(async () => {
    await a?.stop("SIGKILL");
    a = undefined;
  });
  afterAll(async () => {
    await pgdb?.drop();
  });

  const url = () => pgdb!.url;
  const lease = async (id: string) =>
    (await sql(url(), "SELECT status, lease_owner, lease_expires FROM runs WHERE id = $1", [id])).rows[0] as {
      status: string;
      lease_owner: string | null;
    };

  /** A worker on the other host, with a 30 s lease, in the sleep after its first request of run `id`. */
  const workerInSleep = async (id: string): Promise<{ worker: HostWorker; owner: string }> => {
    const input = JSON.stringify({ url: bed.url, n: 3, sleep_ms: 1500 });
    const started = await bed.cli(["start", WORKER_WASM, "--entry", "steps", "--id", id, "--allow-net", "127.0.0.1", "--input", input]);
    expect(started.code, started.stderr).toBe(0);
    if (!("host" in elsewhere)) throw new Error("no other host");
    a = startHostWorker(elsewhere.host, url(), bed.dir, { DWE_LEASE_TTL_MS: "30000" });
    await waitFor("its first request", () => bed.server.received.length === 1, 60_000);
    await delay(150); // in the sleep after it: nothing in flight
    const owner = (await lease(id)).lease_owner!;
    expect(owner.startsWith("host-elsewhere:")).toBe(true);
    return { worker: a, owner };
  };

  it("a worker on another host killed with SIGKILL: its session is gone, so resume --no-wait continues its run at once", async () => {
    const { worker, owner } = await workerInSleep("d1");
    expect((await worker.stop("SIGKILL")).signal).toBe("SIGKILL");
    // PostgreSQL has ended the dead worker's session (its connection closed with the process).
    const dead = async () => (await sql(url(), `SELECT owner FROM (${DEAD_WORKERS}) d WHERE owner = $1`, [owner])).rowCount === 1;
    for (let i = 0; !(await dead()); i++) {
      if (i > 200) throw new Error("the dead worker's session did not end");
      await delay(50);
    }
    // Its 30 s lease is still current.
    expect((await lease("d1")).status).toBe("running");
    const r = await bed.cli(["resume", "d1", "--no-wait", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await lease("d1")).status).toBe("completed");
    // The step performed before the kill is not repeated.
    expect(bed.server.received.map((q) => q.body)).toEqual(["0", "1", "2"]);
    expect(new Set(bed.server.received.map((q) => q.key)).size).toBe(3);
  });

  it("a worker on another host that is only stopped keeps its session: resume --no-wait refuses, naming it", async () => {
    const { worker, owner } = await workerInSleep("d2");
    worker.kill("SIGSTOP");
    const refused = await bed.cli(["resume", "d2", "--no-wait"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`run d2 is being executed by ${owner} (lease until `);
    expect(refused.stderr).toContain("not resumed (--no-wait)");
  });
});
