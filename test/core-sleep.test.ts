// Durable sleep: short sleeps wait in the process, long ones suspend the run with its wake time;
// a resumed run sleeps only what is left and its logs appear once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dwe, exited, spawnDwe, workdir } from "./support/cli.js";
import { compileAs } from "./support/assemblyscript.js";

interface ShownRun {
  status: string;
  wake_at: string | null;
  output: unknown;
  journal: { entries: number; intents: number; byOp: Record<string, number> };
}

describe("durable sleep", () => {
  const w = workdir();
  let sleepy = "";
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });
  const show = (id: string) => JSON.parse(cli(["show", id, "--json"]).stdout) as ShownRun;

  beforeAll(async () => {
    sleepy = await compileAs("test/fixtures/core/sleepy-a.ts", join(w.dir, "build"));
  });
  afterAll(() => w.cleanup());

  it("a sleep shorter than --suspend-after waits in the process and the run completes", () => {
    const r = cli(["run", sleepy, "--id", "short"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("a");
    expect(show("short").journal.byOp).toEqual({ "clock.now": 1, sleep: 1, log: 1, "run.output": 1 });
  });

  it("a longer sleep suspends the run with its wake time; resume --no-wait says when it is due; resume waits and finishes", () => {
    const started = Date.now();
    const r = cli(["run", sleepy, "--id", "long", "--suspend-after", "100"]);
    expect(r.code).toBe(75);
    const suspended = show("long");
    expect(suspended.status).toBe("suspended");
    const wake = Date.parse(suspended.wake_at!);
    expect(wake).toBeGreaterThanOrEqual(started + 1500);
    expect(suspended.journal.intents).toBe(1);

    const early = cli(["resume", "long", "--no-wait"]);
    expect(early.code).toBe(75);
    expect(early.stderr).toContain(`sleeps until ${new Date(wake).toISOString()}`);
    expect(show("long").status).toBe("suspended");

    const done = cli(["resume", "long"]);
    expect(done.code).toBe(0);
    expect(done.stdout.trim()).toBe("a");
    expect(Date.now()).toBeGreaterThanOrEqual(wake);
    const finished = show("long");
    expect(finished.status).toBe("completed");
    expect(finished.journal.intents).toBe(0);
    expect(cli(["logs", "long"]).stdout).toBe("after the sleep (a)\n");
  });

  it("a run killed during a short sleep keeps its deadline: the resumed run does not sleep again from the start", async () => {
    const child = spawnDwe(["run", sleepy, "--id", "killed"], { cwd: w.dir, db: w.db });
    // The deadline is committed before the wait begins; wait until it is there, then kill.
    for (;;) {
      await delay(50);
      const s = cli(["show", "killed", "--json"]);
      if (s.code === 0 && (JSON.parse(s.stdout) as ShownRun).journal.byOp.sleep === 1) break;
    }
    child.kill("SIGKILL");
    await exited(child);
    await delay(1600); // past the original deadline
    const resumed = Date.now();
    const r = cli(["resume", "killed"]);
    expect(r.code).toBe(0);
    // Had the sleep restarted, the resume would take 1.5 s more; it returns well before.
    expect(Date.now() - resumed).toBeLessThan(1500);
    expect(show("killed").journal.byOp).toEqual({ "clock.now": 1, sleep: 1, log: 1, "run.output": 1 });
  });

  it("--durability fsync runs the same way", () => {
    const r = dwe(["--durability", "fsync", "run", sleepy, "--id", "synced"], { cwd: w.dir, db: w.db });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("a");
  });
});
