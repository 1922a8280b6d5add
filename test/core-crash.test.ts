// The durable core's promise, end to end: `dwe run` of the effects example is SIGKILLed at
// several points, `dwe resume` finishes it, and nothing done before the crash is done again.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, example, workdir } from "./support/cli.js";
import { effectsRunFlags } from "./support/effects-run.js";
import { type Ended, crashThenResume, recordedCommands, recordingShell } from "./support/kill-resume.js";
import { CountingServer } from "./support/servers.js";

const N = 6;

function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

function countOf<T>(xs: T[], x: T): number {
  return xs.filter((y) => y === x).length;
}

describe.each(["effects", "effects-rust"])("%s example, SIGKILL and resume", (name) => {
  let w: ReturnType<typeof workdir>;
  let server: CountingServer;
  let url: string;

  beforeEach(async () => {
    w = workdir();
    mkdirSync(join(w.dir, "files"));
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    await server.stop();
    w.cleanup();
  });

  const where = (env?: Record<string, string>) => ({ cwd: w.dir, db: w.db, ...(env && { env }) });
  const runArgs = (id: string) => ["run", example(name), ...effectsRunFlags(id, { n: N, file: "out.txt", url })];

  async function checkResumed(id: string, resumed: Ended): Promise<void> {
    expect(resumed.stderr).not.toContain("error");
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({ steps: N });

    const shown = await dweAsync(["show", id, "--json"], { cwd: w.dir, db: w.db });
    const run = JSON.parse(shown.stdout) as { status: string; output: unknown; journal: { entries: number; intents: number } };
    expect(run.status).toBe("completed");
    expect(run.output).toEqual({ steps: N });
    expect(run.journal.intents).toBe(0);
    expect(run.journal.entries).toBe(4 * N + 1);

    const logs = await dweAsync(["logs", id], { cwd: w.dir, db: w.db });
    expect(logs.stdout.trim().split("\n")).toEqual(Array.from({ length: N }, (_, i) => `step ${i}`));
  }

  for (const k of [0, 3]) {
    it(`SIGKILL during the HTTP request of step ${k}: earlier requests are not repeated, step ${k}'s is repeated at most once with the same idempotency key`, async () => {
      let fileAtKill: string[] = [];
      const { crashed, resumed } = await crashThenResume(runArgs("h"), "h", where(), {
        kill: (p) => {
          let killed = false;
          server.hold = async (r) => {
            if (r.body === String(k) && !killed) {
              killed = true;
              await p.killed();
            }
          };
        },
        beforeResume: () => (fileAtKill = lines(join(w.dir, "files", "out.txt"))),
      });
      expect(crashed.signal).toBe("SIGKILL");
      expect(fileAtKill).toEqual(Array.from({ length: k + 1 }, (_, i) => String(i)));

      await checkResumed("h", resumed);

      const bodies = server.received.map((r) => r.body);
      for (let i = 0; i < N; i++) expect(countOf(bodies, String(i)), `request ${i}`).toBe(i === k ? 2 : 1);
      const keys = server.received.filter((r) => r.body === String(k)).map((r) => r.key);
      expect(keys[0]).toBeDefined();
      expect(keys[0]).toBe(keys[1]);
      expect(lines(join(w.dir, "files", "out.txt"))).toEqual(Array.from({ length: N }, (_, i) => String(i)));
    });
  }

  it("SIGKILL while the exec of step 2 runs: it is repeated at most once, with the same idempotency key", async () => {
    // A `sh` first on PATH that does the real work, records its key, then waits while `hold` exists.
    const hold = join(w.dir, "hold");
    const shell = recordingShell(w.dir, { record: "after", hold: { script: "echo 2 >>", file: hold } });
    writeFileSync(hold, "");
    const { resumed } = await crashThenResume(runArgs("x"), "x", where(shell.env), {
      kill: async (p) => {
        while (!existsSync(`${hold}.held`)) await delay(20);
        await p.killed();
      },
      beforeResume: () => rmSync(hold),
    });

    await checkResumed("x", resumed);

    const out = lines(join(w.dir, "files", "out.txt"));
    for (let i = 0; i < N; i++) expect(countOf(out, String(i)), `line ${i}`).toBe(i === 2 ? 2 : 1);
    const execs = recordedCommands(shell.log).filter((c) => c.script.startsWith("echo 2 >>"));
    expect(execs).toHaveLength(2);
    expect(execs[0]!.key).toBe(execs[1]!.key);
    // HTTP requests before the crash were not repeated.
    const bodies = server.received.map((r) => r.body);
    for (let i = 0; i < N; i++) expect(countOf(bodies, String(i)), `request ${i}`).toBe(1);
  });

  it("an uncrashed run gives the same output and the same files", async () => {
    const r = await dweAsync(runArgs("clean"), { cwd: w.dir, db: w.db });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ steps: N });
    expect(lines(join(w.dir, "files", "out.txt"))).toEqual(Array.from({ length: N }, (_, i) => String(i)));
    expect(server.received.map((x) => x.key)).toEqual(Array.from({ length: N }, (_, i) => `clean:${4 * i + 3}`));
  });
});
