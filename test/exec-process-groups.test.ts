// Nothing an `exec` command starts outlives its call: each command leads its own process group,
// and the whole group is killed when the program exits, at `timeout_ms`, when the run ends by its
// --timeout, when it is cancelled, and when dwe exits. The grandchildren below record their pids;
// afterwards each must be gone (a zombie counts as gone).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, exited, runFor, spawnDwe, workdir } from "./support/cli.js";
import { opGuest, runOutput } from "./support/op-guest.js";
import { alive, pidsIn } from "./support/processes.js";
import { runIn, startWorker, waitFor } from "./support/worker.js";

describe("exec process groups", () => {
  const w = workdir();
  const data = join(w.dir, "data");
  const grants = ["--allow-shell", "sh", "--dir", `${data}:/data`];
  beforeAll(() => mkdirSync(data));
  const pidFile = (name: string) => join(data, `${name}.pids`);
  // Each grandchild is killed by the test in the end, should a check fail.
  const started: number[] = [];
  const expectAllGone = async (file: string) => {
    const pids = pidsIn(file);
    started.push(...pids);
    expect(pids.length).toBeGreaterThan(0);
    // SIGKILL is immediate, but give the kernel a moment under load.
    await waitFor(`processes ${pids.join(",")} to be gone`, () => pids.every((p) => !alive(p)), 5_000).catch(() => undefined);
    expect(pids.filter(alive)).toEqual([]);
  };
  afterAll(() => {
    for (const p of started) if (alive(p)) process.kill(p, "SIGKILL");
    w.cleanup();
  });

  it("timeout_ms kills the whole group: a grandchild holding the output pipe does not hold the call", async () => {
    const pids = pidFile("timeout");
    const m = opGuest(w.dir, "timeout", "exec", {
      argv: ["sh", "-c", `sleep 300 & echo $! >> ${pids}; echo $$ >> ${pids}; sleep 300`],
      timeout_ms: 1000,
    });
    const r = await runFor(w, ["run", m, "--id", "timeout", ...grants, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(runOutput(w.db, "timeout")).toMatchObject({ code: -1, signal: "SIGKILL" });
    await expectAllGone(pids);
  });

  it("what a command leaves running is killed when its program exits", async () => {
    const pids = pidFile("leftover");
    const m = opGuest(w.dir, "leftover", "exec", { argv: ["sh", "-c", `sleep 300 >/dev/null 2>&1 & echo $! >> ${pids}; echo started`] });
    const r = await runFor(w, ["run", m, "--id", "leftover", ...grants, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const out = runOutput(w.db, "leftover") as { code: number; stdout: Uint8Array };
    expect(out.code).toBe(0);
    expect(Buffer.from(out.stdout).toString()).toBe("started\n");
    await expectAllGone(pids);
  });

  it("a run ending by its --timeout during a command fails with `timeout` and kills the command's group", async () => {
    const pids = pidFile("run-timeout");
    const m = opGuest(w.dir, "run-timeout", "exec", {
      argv: ["sh", "-c", `sleep 300 & echo $! >> ${pids}; echo $$ >> ${pids}; wait`],
      timeout_ms: 3_600_000,
    });
    const r = await runFor(w, ["run", m, "--id", "run-timeout", ...grants, "--timeout", "20000", "--quiet"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^dwe: run run-timeout failed: timeout: /);
    await expectAllGone(pids);
  });

  it("dwe cancel of a run in a worker kills its command's group at once; the run ends cancelled", async () => {
    const pids = pidFile("cancel");
    const m = opGuest(w.dir, "cancel", "exec", {
      argv: ["sh", "-c", `sleep 300 & echo $! >> ${pids}; echo $$ >> ${pids}; wait`],
      timeout_ms: 3_600_000,
    });
    const created = await dweAsync(["run", m, "--id", "cancel", ...grants, "--detach"], { cwd: w.dir, db: w.db });
    expect(created.code, created.stderr).toBe(0);
    const worker = startWorker(w, ["--threads", "1"]);
    try {
      await waitFor("the command to start", () => pidsIn(pids).length === 2);
      const c = await dweAsync(["cancel", "cancel"], { cwd: w.dir, db: w.db });
      expect(c.code, c.stderr).toBe(0);
      await waitFor("the run to end", () => runIn(w.db, "cancel").status === "cancelled", 30_000);
      await expectAllGone(pids);
    } finally {
      await worker.stop();
    }
  });

  it("when dwe exits at once (Ctrl-C twice), no process of a command in flight is left", async () => {
    const pids = pidFile("exit");
    const m = opGuest(w.dir, "exit", "exec", {
      argv: ["sh", "-c", `sleep 300 & echo $! >> ${pids}; echo $$ >> ${pids}; wait`],
      timeout_ms: 3_600_000,
    });
    // With --timeout the run executes in a thread: the command is that thread's, the exit the main thread's.
    const child = spawnDwe(["run", m, "--id", "exit", ...grants, "--timeout", "600000", "--quiet"], { cwd: w.dir, db: w.db });
    await waitFor("the command to start", () => pidsIn(pids).length === 2);
    child.kill("SIGINT");
    child.kill("SIGINT");
    await exited(child);
    await expectAllGone(pids);
  });
});
