// The durable core's promise, end to end: `dwe run` of the effects example is SIGKILLed at
// several points, `dwe resume` finishes it, and nothing done before the crash is done again.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, example, exited, spawnDwe, workdir } from "./support/cli.js";
import { effectsRunFlags } from "./support/effects-run.js";
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

  const runArgs = (id: string) => ["run", example(name), ...effectsRunFlags(id, { n: N, file: "out.txt", url })];

  async function finishAndCheck(id: string, env?: Record<string, string>): Promise<void> {
    const resumed = await dweAsync(["resume", id], { cwd: w.dir, db: w.db, ...(env && { env }) });
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
      const child = spawnDwe(runArgs("h"), { cwd: w.dir, db: w.db });
      let killed = false;
      server.hold = async (r) => {
        if (r.body === String(k) && !killed) {
          killed = true;
          child.kill("SIGKILL");
          await exited(child);
        }
      };
      const end = await exited(child);
      expect(end.signal).toBe("SIGKILL");
      expect(lines(join(w.dir, "files", "out.txt"))).toEqual(Array.from({ length: k + 1 }, (_, i) => String(i)));

      await finishAndCheck("h");

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
    const bin = join(w.dir, "bin");
    mkdirSync(bin);
    const hold = join(w.dir, "hold");
    const held = join(w.dir, "held");
    const keys = join(w.dir, "keys.log");
    writeFileSync(
      join(bin, "sh"),
      `#!/bin/bash\n/bin/sh "$@"; st=$?\necho "$DWE_IDEMPOTENCY_KEY $2" >> '${keys}'\n` +
        `case "$2" in "echo 2 >>"*) if [ -e '${hold}' ]; then touch '${held}'; while [ -e '${hold}' ]; do sleep 0.05; done; fi;; esac\nexit $st\n`,
    );
    chmodSync(join(bin, "sh"), 0o755);
    writeFileSync(hold, "");
    const env = { PATH: `${bin}:${process.env.PATH ?? ""}` };
    const child = spawnDwe(runArgs("x"), { cwd: w.dir, db: w.db, env });
    while (!existsSync(held)) await delay(20);
    child.kill("SIGKILL");
    await exited(child);
    rmSync(hold);

    await finishAndCheck("x", env);

    const out = lines(join(w.dir, "files", "out.txt"));
    for (let i = 0; i < N; i++) expect(countOf(out, String(i)), `line ${i}`).toBe(i === 2 ? 2 : 1);
    const execs = lines(keys).filter((l) => l.includes("echo 2 >>"));
    expect(execs).toHaveLength(2);
    expect(execs[0]!.split(" ")[0]).toBe(execs[1]!.split(" ")[0]);
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
