// A pure-std Rust program made into a WASI 0.2 component (`jco new --wasi-command`) runs under
// dwe with journaled WASI 0.2: SIGKILLed at several points and resumed, it ends exactly like an
// uncrashed run (every line appended once, every stdout line logged once, clock and random
// values seen after the resume equal to those seen before the crash).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import Database from "better-sqlite3";
import { dweAsync, example, exited, ROOT, spawnDwe, workdir } from "./support/cli.js";

const N = 8;
const LINE = /^i (\d+) t (\d+)$/;
const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");

function fileLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").slice(0, -1); // complete lines only
}

interface Finished {
  lines: string[];
  logs: string[];
  status: string;
  entries: number;
  intents: number;
}

describe("rust-std as a WASI 0.2 component", () => {
  let w: ReturnType<typeof workdir>;
  let component: string;
  let env: Record<string, string>;
  let reference: Finished;

  const runArgs = (id: string, dir: string, n: number, extra: string[] = []) => [
    "run",
    component,
    "--id",
    id,
    "--dir",
    `${dir}:/data`,
    ...extra,
    "--",
    "/data/out.txt",
    String(n),
  ];
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db, env });

  async function finished(id: string, dir: string): Promise<Finished> {
    const logs = await cli(["logs", id]);
    const shown = JSON.parse((await cli(["show", id, "--json"])).stdout) as {
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

  function checkConsistent(f: Finished, n: number): bigint[] {
    expect(f.status).toBe("completed");
    expect(f.intents).toBe(0);
    expect(f.lines).toHaveLength(n);
    const times = f.lines.map((l, i) => {
      const m = LINE.exec(l);
      expect(m, `line ${i}: ${l}`).not.toBeNull();
      expect(Number(m![1])).toBe(i);
      return BigInt(m![2]!);
    });
    expect(f.logs[0]).toMatch(/^seed [0-9a-f]{16}$/);
    expect(f.logs.slice(1, n + 1)).toEqual(Array.from({ length: n }, (_, i) => `step ${i}`));
    // The sum is computed from the times the program held in memory: equal to the file's only if
    // the readings replayed after a crash are the ones written before it.
    expect(f.logs[n + 1]).toBe(`done ${n} sum ${times.reduce((a, b) => a + b, 0n)}`);
    expect(f.logs).toHaveLength(n + 2);
    return times;
  }

  /** The logs with the values that differ between two runs (seed, times) blanked out. */
  const shape = (logs: string[]) => logs.map((l) => l.replace(/^seed [0-9a-f]+$/, "seed X").replace(/ sum \d+$/, " sum X"));

  beforeAll(async () => {
    w = workdir("dwe-components-");
    env = { DWE_CACHE_DIR: join(w.dir, "cache") };
    component = join(w.dir, "rust-std.component.wasm");
    const made = spawnSync(process.execPath, [JCO, "new", example("rust-std"), "--wasi-command", "-o", component], { encoding: "utf8" });
    expect(made.stderr).toBe("");
    expect(made.status).toBe(0);
    const dir = join(w.dir, "ref");
    mkdirSync(dir);
    const r = await cli(runArgs("ref", dir, N));
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    reference = await finished("ref", dir);
  });
  afterAll(() => w.cleanup());

  it("runs to completion like the core module does", () => {
    checkConsistent(reference, N);
  });

  it("is transpiled once per component hash, into the store; nothing of it is written to or read from the cache directory", () => {
    const db = new Database(w.db, { readonly: true });
    try {
      const rows = db.prepare("SELECT kind FROM module_artifacts").all() as { kind: string }[];
      expect(rows.map((r) => r.kind)).toEqual(["jco-v1"]);
      const mod = db.prepare("SELECT kind FROM modules").all() as { kind: string }[];
      expect(mod.map((r) => r.kind)).toEqual(["component"]);
    } finally {
      db.close();
    }
    const cache = join(w.dir, "cache");
    expect(existsSync(cache) ? readdirSync(cache).filter((d) => d.startsWith("jco-")) : []).toEqual([]);
  });

  it("a component.js planted in the cache directory (with its .complete marker) is never executed", async () => {
    const sha = createHash("sha256").update(readFileSync(component)).digest("hex");
    const marker = join(w.dir, "host-code-ran");
    const planted = join(w.dir, "cache", `jco-v1-${sha}`);
    mkdirSync(planted, { recursive: true });
    writeFileSync(
      join(planted, "component.js"),
      `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "pwned");\n` +
        "export async function instantiate() { return { run: { run() {} } }; }\n",
    );
    writeFileSync(join(planted, ".complete"), "");
    const dir = join(w.dir, "planted-run");
    mkdirSync(dir);
    const r = await cli(runArgs("planted", dir, 2));
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(fileLines(join(dir, "out.txt"))).toHaveLength(2);
  });

  it("file operations (mkdir, create+truncate, writes at offsets, read, rename, readdir, stat, unlink, rmdir) work, journaled under the preview1 op codes", async () => {
    const fsComponent = join(w.dir, "fs-ops.component.wasm");
    const made = spawnSync(
      process.execPath,
      [JCO, "new", join(ROOT, "test", "fixtures", "components", "fs-ops.wasm"), "--wasi-command", "-o", fsComponent],
      { encoding: "utf8" },
    );
    expect(made.status, made.stderr).toBe(0);
    const dir = join(w.dir, "fs");
    mkdirSync(dir);
    const r = await cli(["run", fsComponent, "--id", "fs", "--dir", `${dir}:/data`]);
    expect(r.code, r.stderr).toBe(0);
    const expected = ["read: hello WORLD", 'dir: ["b.txt"]', "len: 12", "exists after: false", "elapsed ok: true"];
    expect((await cli(["logs", "fs"])).stdout.trim().split("\n")).toEqual(expected);
    expect(readdirSync(dir)).toEqual([]);
    const shown = JSON.parse((await cli(["show", "fs", "--json"])).stdout) as { journal: { byOp: Record<string, number> } };
    for (const op of [
      "wasi.fd_pwrite",
      "wasi.fd_read",
      "wasi.path_rename",
      "wasi.fd_readdir",
      "wasi.path_unlink_file",
      "wasi.path_remove_directory",
    ]) {
      expect(shown.journal.byOp[op], op).toBeGreaterThan(0);
    }
  });

  const kills: { name: string; ready: (out: string, printed: string) => boolean }[] = [
    { name: "right after the seed is printed (random drawn, nothing appended)", ready: (_o, p) => p.includes("seed ") },
    ...[1, 3, 6].map((k) => ({ name: `after ${k} line(s) appear`, ready: (out: string) => fileLines(out).length >= k })),
  ];

  for (const kill of kills) {
    it(`SIGKILL ${kill.name}, then resume: same final state as an uncrashed run`, async () => {
      const id = `kill-${kills.indexOf(kill)}`;
      const dir = join(w.dir, id);
      mkdirSync(dir);
      const out = join(dir, "out.txt");
      const child = spawnDwe(runArgs(id, dir, N), { cwd: w.dir, db: w.db, env });
      let printed = "";
      // The program's stdout is dwe's stdout (docs/wasi.md).
      child.stdout!.on("data", (c: Buffer) => (printed += c.toString()));
      const deadline = Date.now() + 60_000;
      while (!kill.ready(out, printed) && Date.now() < deadline && child.exitCode === null) await delay(2);
      child.kill("SIGKILL");
      expect((await exited(child)).signal).toBe("SIGKILL");
      const before = fileLines(out);
      expect(before.length).toBeLessThan(N);
      const seedBefore = /seed [0-9a-f]{16}/.exec(printed)?.[0];

      const resumed = await cli(["resume", id]);
      expect(resumed.stderr).not.toContain("error");
      expect(resumed.code).toBe(0);

      const f = await finished(id, dir);
      checkConsistent(f, N);
      expect(f.lines.slice(0, before.length)).toEqual(before); // lines written before the crash are untouched
      if (seedBefore !== undefined) expect(f.logs[0]).toBe(seedBefore); // random values replayed
      expect(shape(f.logs)).toEqual(shape(reference.logs));
      expect(f.entries).toBe(reference.entries); // the same calls as without a crash
      const shown = (printed + resumed.stdout).split("\n");
      for (let i = 0; i < N; i++) expect(shown.filter((l) => l === `step ${i}`).length).toBeLessThanOrEqual(1);
    });
  }

  it("sleeps are durable timers: a sleep longer than --suspend-after suspends the run (exit 75), resume finishes it", async () => {
    const n = 3;
    const dir = join(w.dir, "suspend");
    mkdirSync(dir);
    const first = await cli(runArgs("susp", dir, n, ["--suspend-after", "1"]));
    expect(first.code, first.stderr).toBe(75);
    expect(fileLines(join(dir, "out.txt"))).toEqual([]);
    const shown = JSON.parse((await cli(["show", "susp", "--json"])).stdout) as { status: string; wake_at: string | null };
    expect(shown.status).toBe("suspended");
    expect(shown.wake_at).not.toBeNull();
    const resumed = await cli(["resume", "susp"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    checkConsistent(await finished("susp", dir), n);
  });
});
