// A plain Rust program (std only, no dwe SDK) is durable through journaled WASI preview1: it runs
// to completion, and SIGKILLed at several points then resumed, it ends exactly like an uncrashed
// run: every line appended once, every stdout line logged once, clock readings consistent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dwe, dweAsync, example, exited, spawnDwe, workdir } from "./support/cli.js";

const N = 8;
const LINE = /^i (\d+) t (\d+)$/;

function fileLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  // Only complete lines: a crash may have cut the last one (the resume completes it).
  return text.split("\n").slice(0, -1);
}

interface Finished {
  lines: string[];
  logs: string[];
  status: string;
  entries: number;
  intents: number;
}

describe("rust-std (plain WASI) under dwe", () => {
  let w: ReturnType<typeof workdir>;
  let reference: Finished;

  const runArgs = (id: string, dir: string, n: number) => [
    "run",
    example("rust-std"),
    "--id",
    id,
    "--dir",
    `${dir}:/data`,
    "--",
    "/data/out.txt",
    String(n),
  ];

  async function finished(id: string, dir: string): Promise<Finished> {
    const logs = await dweAsync(["logs", id], { cwd: w.dir, db: w.db });
    const shown = JSON.parse((await dweAsync(["show", id, "--json"], { cwd: w.dir, db: w.db })).stdout) as {
      status: string;
      journal: { entries: number; intents: number };
    };
    return {
      lines: fileLines(join(dir, "out.txt")),
      logs: logs.stdout.trim().split("\n"),
      status: shown.status,
      entries: shown.journal.entries,
      intents: shown.journal.intents,
    };
  }

  /** The invariants of a finished run: N lines, each once, logs once each, summary = file. */
  function checkConsistent(f: Finished, n: number): void {
    expect(f.status).toBe("completed");
    expect(f.intents).toBe(0);
    expect(f.lines).toHaveLength(n);
    const times = f.lines.map((l, i) => {
      const m = LINE.exec(l);
      expect(m, `line ${i}: ${l}`).not.toBeNull();
      expect(Number(m![1])).toBe(i);
      return BigInt(m![2]!);
    });
    for (let i = 1; i < n; i++) expect(times[i]! >= times[i - 1]!).toBe(true);
    expect(f.logs[0]).toMatch(/^seed [0-9a-f]{16}$/);
    expect(f.logs.slice(1, n + 1)).toEqual(Array.from({ length: n }, (_, i) => `step ${i}`));
    expect(f.logs[n + 1]).toBe(`done ${n} sum ${times.reduce((a, b) => a + b, 0n)}`);
    expect(f.logs).toHaveLength(n + 2);
  }

  beforeAll(async () => {
    w = workdir("dwe-wasi-rust-");
    const dir = join(w.dir, "ref");
    mkdirSync(dir);
    const r = await dweAsync(runArgs("ref", dir, N), { cwd: w.dir, db: w.db });
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    reference = await finished("ref", dir);
  });
  afterAll(() => w.cleanup());

  it("runs to completion: 5 lines in the file, each `step i` logged once", () => {
    const dir = join(w.dir, "five");
    mkdirSync(dir);
    const r = dwe(runArgs("five", dir, 5), { cwd: w.dir, db: w.db });
    expect(r.code).toBe(0);
    // Printed once while running (the program's stdout is dwe's stdout)...
    for (let i = 0; i < 5; i++) expect(r.stdout.split("\n").filter((l) => l === `step ${i}`)).toHaveLength(1);
    // ...and shown once by `dwe logs`.
    const logs = dwe(["logs", "five"], { cwd: w.dir, db: w.db }).stdout.trim().split("\n");
    for (let i = 0; i < 5; i++) expect(logs.filter((l) => l === `step ${i}`)).toHaveLength(1);
    expect(fileLines(join(dir, "out.txt"))).toHaveLength(5);
  });

  it("an uncrashed run is consistent (the reference for the crash tests)", () => {
    checkConsistent(reference, N);
  });

  // k lines complete; "cut": while a line is half written (rust's unbuffered File writes each line
  // in several fd_write calls), falling back to after 4 lines if no cut line is seen.
  for (const k of [1, 3, "cut"] as const) {
    it(`SIGKILL after ${k === "cut" ? "part of a line" : `${k} line(s)`} appear, then resume: same final state as an uncrashed run`, async () => {
      const id = `kill${k}`;
      const dir = join(w.dir, id);
      mkdirSync(dir);
      const out = join(dir, "out.txt");
      const child = spawnDwe(runArgs(id, dir, N), { cwd: w.dir, db: w.db });
      let printed = "";
      child.stdout!.on("data", (c: Buffer) => (printed += c.toString()));
      const deadline = Date.now() + 60_000;
      const reached = (): boolean => {
        if (k !== "cut") return fileLines(out).length >= k;
        const text = existsSync(out) ? readFileSync(out, "utf8") : "";
        return (text !== "" && !text.endsWith("\n")) || fileLines(out).length >= 4;
      };
      while (!reached() && Date.now() < deadline && child.exitCode === null) await delay(1);
      child.kill("SIGKILL");
      const end = await exited(child);
      expect(end.signal, printed).toBe("SIGKILL");
      const before = fileLines(out);
      expect(before.length).toBeGreaterThanOrEqual(k === "cut" ? 0 : k);
      expect(before.length).toBeLessThan(N);

      const resumed = await dweAsync(["resume", id], { cwd: w.dir, db: w.db });
      expect(resumed.stderr).not.toContain("error");
      expect(resumed.code, resumed.stderr).toBe(0);

      const f = await finished(id, dir);
      checkConsistent(f, N);
      // What was written before the crash is untouched: the resumed run replayed those clock readings.
      expect(f.lines.slice(0, before.length)).toEqual(before);
      // The same calls as without a crash: nothing done twice, nothing skipped.
      expect(f.entries).toBe(reference.entries);
      // Printed at most once across the killed process and the resume.
      const shown = (printed + resumed.stdout).split("\n");
      for (let i = 0; i < N; i++) expect(shown.filter((l) => l === `step ${i}`).length).toBeLessThanOrEqual(1);
    });
  }
});
