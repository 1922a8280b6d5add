// Pinned modules and `dwe resume --upgrade`: a run continues on new code only if its journal
// replays cleanly on it; otherwise the run is left exactly as it was and the error says where.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { dwe, runFor, spawnDwe, workdir } from "./support/cli.js";
import { waitFor } from "./support/worker.js";
import { compileAs } from "./support/assemblyscript.js";
import { dumpDatabase } from "./support/database.js";

describe("resume --upgrade", () => {
  const w = workdir();
  const mod: Record<string, string> = {};

  beforeAll(async () => {
    for (const name of ["sleepy-a", "sleepy-a2", "sleepy-swapped", "sleepy-short", "sleepy-long"]) {
      mod[name] = await compileAs(`test/fixtures/core/${name}.ts`, join(w.dir, "build"));
    }
  });
  afterAll(() => w.cleanup());
  const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });

  it("a run is pinned to the bytes it started with: replacing the file changes nothing", () => {
    const path = join(w.dir, "workflow.wasm");
    copyFileSync(mod["sleepy-a"]!, path);
    const started = cli(["run", path, "--id", "pinned", "--suspend-after", "100"]);
    expect(started.code).toBe(75);
    expect(started.stderr).toContain("suspended until");
    copyFileSync(mod["sleepy-swapped"]!, path);
    const resumed = cli(["resume", "pinned"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout.trim()).toBe("a");
  });

  it("an upgrade that calls host functions in another order is refused at the seq where it diverges, and the run is untouched", () => {
    expect(cli(["run", mod["sleepy-a"]!, "--id", "up", "--suspend-after", "100"]).code).toBe(75);
    const before = dumpDatabase(w.db, ["journal", "logs"]);
    const beforeRun = JSON.parse(cli(["show", "up", "--json"]).stdout) as Record<string, unknown>;

    const swapped = cli(["resume", "up", "--upgrade", mod["sleepy-swapped"]!, "--suspend-after", "100"]);
    expect(swapped.code).toBe(2);
    const errLines = swapped.stderr
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("dwe: error"));
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(
      /run up diverged from its journal at seq 1: the journal recorded clock\.now .* but the code asked for sleep/,
    );
    expect(errLines[0]).toContain("upgrade refused");

    const short = cli(["resume", "up", "--upgrade", mod["sleepy-short"]!]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at seq 2: the journal recorded sleep/);

    expect(dumpDatabase(w.db, ["journal", "logs"])).toEqual(before);
    const afterRun = JSON.parse(cli(["show", "up", "--json"]).stdout) as Record<string, unknown>;
    expect({ ...afterRun, updated_at: null }).toEqual({ ...beforeRun, updated_at: null });
  });

  it("an upgrade that makes the same calls continues the run on the new module", () => {
    const r = cli(["resume", "up", "--upgrade", mod["sleepy-a2"]!]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("a2");
    const run = JSON.parse(cli(["show", "up", "--json"]).stdout) as { status: string; module: string };
    expect(run.status).toBe("completed");
    const a2 = JSON.parse(cli(["show", "up", "--json"]).stdout) as { module: string };
    expect(a2.module).not.toBe(beforeModule());
    expect(cli(["logs", "up"]).stdout.trim()).toBe("after the sleep (a2)");
  });

  // Issue 10.4: a refused upgrade is reported before any wait, not after it.
  it("a diverging upgrade of a run suspended for an hour is refused at once, before waiting for its timer; the run is unchanged", async () => {
    expect(cli(["run", mod["sleepy-long"]!, "--id", "long", "--suspend-after", "100"]).code).toBe(75);
    const before = JSON.parse(cli(["show", "long", "--json"]).stdout) as Record<string, unknown>;
    const r = await runFor(w, ["resume", "long", "--upgrade", mod["sleepy-swapped"]!], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("upgrade refused, the run is unchanged");
    expect(r.stderr).toMatch(/diverged from its journal at seq 1/);
    expect(r.stderr).not.toContain("waiting here");
    const after = JSON.parse(cli(["show", "long", "--json"]).stdout) as Record<string, unknown>;
    expect({ ...after, updated_at: null }).toEqual({ ...before, updated_at: null });
  });

  it("a diverging upgrade of a run another live process holds is refused at once, before waiting for that lease", async () => {
    const holder = spawnDwe(["run", mod["sleepy-long"]!, "--id", "held", "--suspend-after", "7200000"], { cwd: w.dir, db: w.db });
    try {
      await waitFor("the holder to sleep", () => {
        const shown = cli(["show", "held", "--json"]);
        if (shown.code !== 0) return false;
        const run = JSON.parse(shown.stdout) as { status: string; journal: { entries: number } };
        return run.status === "running" && run.journal.entries >= 2;
      });
      const r = await runFor(w, ["resume", "held", "--upgrade", mod["sleepy-swapped"]!], 30_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("upgrade refused, the run is unchanged");
      expect(r.stderr).not.toContain("waiting for that lease");
      expect(holder.exitCode).toBeNull();
    } finally {
      holder.kill("SIGKILL");
    }
  });

  function beforeModule(): string {
    return (JSON.parse(cli(["show", "pinned", "--json"]).stdout) as { module: string }).module;
  }
});
