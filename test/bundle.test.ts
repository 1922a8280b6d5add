// The bundled CLI (dist/bundle/, built by scripts/prepare.mjs after tsc): it runs every verb's code and
// finds each thread's entry file beside itself (the attempt thread of run --timeout, verify and a
// worker; a component's thread); bin/dwe.js starts it unless a later tsc build made it stale, and maps --debug
// stack traces back to the TypeScript.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, dwe, example, exited, workdir, type CliResult } from "./support/cli.js";
import { runIn, waitFor } from "./support/worker.js";

const BUNDLE = join(ROOT, "dist", "bundle", "cli.cjs");
const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");

/** Runs the bundle itself (not through bin/dwe.js). */
function bundled(w: { dir: string; db: string }, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [BUNDLE, "--db", w.db, ...args], {
    cwd: w.dir,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bundled CLI", () => {
  let w: ReturnType<typeof workdir>;
  beforeAll(() => {
    w = workdir("dwe-bundle-");
  });
  afterAll(() => w.cleanup());

  it("is built, and is one file per entry point that imports none of dwe's compiled modules", () => {
    expect(existsSync(BUNDLE), "dist/bundle/cli.cjs is missing: scripts/prepare.mjs builds it").toBe(true);
    for (const thread of ["attempt-thread-main", "component-worker"]) {
      expect(existsSync(join(ROOT, "dist", "bundle", `${thread}.js`)), thread).toBe(true);
    }
    expect(readFileSync(BUNDLE, "utf8")).not.toMatch(/require\(["']\.\.?\//);
    // msgpackr's plain build and better-sqlite3's JavaScript are inside; only the addon is loaded by path.
    expect(readFileSync(BUNDLE, "utf8")).not.toMatch(/require\(["'](msgpackr|msgpackr-extract|better-sqlite3|bindings)["']\)/);
  });

  it("runs a workflow in this process and, with --timeout, in an attempt thread; verify replays it in one", () => {
    const here = bundled(w, ["run", example("hello"), "--id", "here", "--input", '{"name":"here"}']);
    expect(here.code, here.stderr).toBe(0);
    expect(here.stdout).toContain('{"greeting":"hello, here"}');
    const threaded = bundled(w, ["run", example("hello"), "--id", "threaded", "--timeout", "60000", "--input", '{"name":"thread"}']);
    expect(threaded.code, threaded.stderr).toBe(0);
    expect(threaded.stdout).toContain('{"greeting":"hello, thread"}');
    const verified = bundled(w, ["verify", "threaded"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain("intact and deterministic");
  });

  it("loads Node's HTTP, TLS, child-process, thread and perf_hooks modules only for a run that uses them", () => {
    // A preload that writes which of Node's modules were loaded by the time the process exits.
    const preload = join(w.dir, "module-list.cjs");
    const list = join(w.dir, "modules.json");
    writeFileSync(
      preload,
      `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    const loaded = (args: string[]): string[] => {
      const r = spawnSync(process.execPath, ["-r", preload, BUNDLE, "--db", w.db, ...args], { cwd: w.dir, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(readFileSync(list, "utf8")) as string[]).filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
    };
    const LAZY = ["http", "https", "tls", "child_process", "worker_threads", "perf_hooks"];
    expect(loaded(["run", example("hello"), "--id", "plain"]).filter((m) => LAZY.includes(m))).toEqual([]);
    // The same run in an attempt thread loads worker_threads: the check above can see a module load.
    expect(loaded(["run", example("hello"), "--id", "in-thread", "--timeout", "60000"])).toContain("worker_threads");
  });

  it("runs a WASI 0.2 component in the component thread", () => {
    const component = join(w.dir, "fs-ops.component.wasm");
    const made = spawnSync(
      process.execPath,
      [JCO, "new", join(ROOT, "test", "fixtures", "components", "fs-ops.wasm"), "--wasi-command", "-o", component],
      { encoding: "utf8" },
    );
    expect(made.status, made.stderr).toBe(0);
    const dir = join(w.dir, "fs");
    mkdirSync(dir);
    const r = bundled(w, ["run", component, "--id", "component", "--dir", `${dir}:/data`], { DWE_CACHE_DIR: join(w.dir, "..", "cache") });
    expect(r.code, r.stderr).toBe(0);
    expect(bundled(w, ["logs", "component"]).stdout).toContain("read: hello WORLD");
  });

  it("executes a started run in a worker's attempt thread", async () => {
    expect(bundled(w, ["start", example("hello"), "--id", "queued", "--input", '{"name":"worker"}']).code).toBe(0);
    const worker = spawn(process.execPath, [BUNDLE, "--db", w.db, "worker", "--threads", "1", "--poll", "100"], {
      cwd: w.dir,
      stdio: "ignore",
    });
    try {
      await waitFor("the worker to complete the run", () => runIn(w.db, "queued").status === "completed");
      expect(runIn(w.db, "queued").output).toBe('{"greeting":"hello, worker"}');
    } finally {
      worker.kill("SIGTERM");
      await exited(worker);
    }
  });

  it("prints --debug stack traces with the TypeScript sources' positions (bin/dwe.js enables the source maps)", () => {
    const r = dwe(["--debug", "resume", "no-such-run"], { cwd: w.dir, db: w.db });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/at .*\/engine\/[\w/-]+\.ts:\d+:\d+/);
    expect(r.stderr).not.toContain("dist/bundle/");
  });
});

describe("bin/dwe.js", () => {
  const base = mkdtempSync(join(tmpdir(), "dwe-launcher-"));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  /** A copy of the launcher beside a bundle and a compiled CLI that each say which one ran. */
  function layout(bundleAge: number, compiledAge: number): string {
    const root = mkdtempSync(join(base, "pkg-"));
    cpSync(join(ROOT, "bin", "dwe.js"), join(root, "bin", "dwe.js"));
    const files = { [join(root, "dist", "bundle", "cli.cjs")]: bundleAge, [join(root, "dist", "engine", "cli", "main.js")]: compiledAge };
    for (const [file, age] of Object.entries(files)) {
      mkdirSync(join(file, ".."), { recursive: true });
      writeFileSync(file, `console.log(${JSON.stringify(file.includes("bundle") ? "bundle" : "compiled")});\n`);
      const t = new Date(Date.now() - age * 1000);
      utimesSync(file, t, t);
    }
    return root;
  }
  const started = (root: string) => spawnSync(process.execPath, [join(root, "bin", "dwe.js")], { encoding: "utf8" }).stdout.trim();

  it("starts the bundle when it is as new as the compiled CLI or newer", () => {
    expect(started(layout(10, 20))).toBe("bundle");
  });

  it("starts the compiled CLI when tsc ran after the bundle was built", () => {
    expect(started(layout(20, 10))).toBe("compiled");
  });

  it("keeps V8's code cache of the bundle beside it, and replaces a damaged one", () => {
    const root = layout(10, 20);
    const cache = join(root, "dist", "bundle", `cli.cjs.${process.versions.v8}.v8-cache`);
    expect(started(root)).toBe("bundle");
    expect(existsSync(cache)).toBe(true);
    writeFileSync(cache, "not a code cache");
    expect(started(root)).toBe("bundle");
    expect(readFileSync(cache).subarray(0, 16).toString()).not.toBe("not a code cache");
  });
});
