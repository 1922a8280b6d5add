// The official WASI test suite (WebAssembly/wasi-testsuite, prebuilt preview1 tests) run through the
// real `dwe run` CLI, the way its reference runner does: each X.wasm with its X.json spec (args,
// env, the "root" directory preopened as "/", the expected exit code, stdout and stderr).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ROOT } from "./cli.js";
import { type Ended, dweToEnd } from "./kill-resume.js";

/** `<repo>/../shared/wasi-testsuite`: the suite is not part of the repository. */
export const SUITE = join(ROOT, "..", "shared", "wasi-testsuite");
const LANGS = ["assemblyscript", "c", "rust"] as const;
const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");

/** Tests that cannot pass in a mode, and why (docs/wasi.md, "The official test suite"). */
const ADAPTER_TRAP =
  "cannot pass: the preview1 adapter (wasmtime's, embedded by `jco new --wasi-command`) keeps its state in a page it takes with memory.grow, and AssemblyScript's allocator takes all memory up to memory.size as its heap and overwrites it; the adapter's check of its state then traps (line 2858), under jco's own host (`jco run`) too";
const ADAPTER_EMPTY_WRITE =
  "cannot pass: the test writes no bytes (zero iovecs) to an invalid fd and expects EBADF; the preview1 adapter answers an empty fd_write with success before it looks at the fd (the same abort at src_input.ts:11 under `jco run`)";

export const EXPECTED_FAILURES: Record<"core" | "component", Record<string, string>> = {
  core: {},
  component: {
    "assemblyscript/args_get-multiple-arguments": ADAPTER_TRAP,
    "assemblyscript/environ_get-multiple-variables": ADAPTER_TRAP,
    "assemblyscript/fd_write-to-invalid-fd": ADAPTER_EMPTY_WRITE,
  },
};

export interface SuiteTest {
  /** `lang/name`, e.g. `rust/fd_readdir`. */
  name: string;
  wasm: string;
  args: string[];
  env: Record<string, string>;
  /** Host directory preopened as the guest's "/" (copied per run: tests write into it). */
  root: string | null;
  exitCode: number;
  stdout: string | null;
  stderr: string | null;
}

interface Spec {
  args?: string[];
  env?: Record<string, string>;
  root?: string;
  dirs?: string[];
  exit_code?: number;
  stdout?: string;
  stderr?: string;
}

/** Every test of the suite (empty when the suite is absent). */
export function suiteTests(): SuiteTest[] {
  const out: SuiteTest[] = [];
  for (const lang of LANGS) {
    const dir = join(SUITE, "tests", lang, "testsuite", "wasm32-wasip1");
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith(".wasm")) continue;
      const name = file.slice(0, -".wasm".length);
      const specFile = join(dir, `${name}.json`);
      const spec: Spec = existsSync(specFile) ? (JSON.parse(readFileSync(specFile, "utf8")) as Spec) : {};
      if (spec.dirs && spec.dirs.length > 0) throw new Error(`${lang}/${name}: "dirs" specs are not supported by this runner`);
      out.push({
        name: `${lang}/${name}`,
        wasm: join(dir, file),
        args: spec.args ?? [],
        env: spec.env ?? {},
        root: spec.root === undefined ? null : join(dir, spec.root),
        exitCode: spec.exit_code ?? 0,
        stdout: spec.stdout ?? null,
        stderr: spec.stderr ?? null,
      });
    }
  }
  return out;
}

/** How a `dwe` process ended, with what it printed. */
export type Outcome = Ended;

/** A scratch directory for one run: its database and its copy of the test's root. */
export interface Scratch {
  dir: string;
  db: string;
  root: string | null;
}

export function scratch(t: SuiteTest, base: string, id: string, db?: string): Scratch {
  const dir = join(base, id);
  mkdirSync(dir, { recursive: true });
  let root: string | null = null;
  if (t.root) {
    root = join(dir, "root");
    // The fixtures are read-only in the shared copy; tests create and remove files in their root.
    cpSync(t.root, root, { recursive: true });
    spawnSync("chmod", ["-R", "u+w", root]);
  }
  return { dir, db: db ?? join(dir, "dwe.db"), root };
}

/** The `dwe run` arguments for a test, as a WASI runner passes them (`--dir ROOT::/`, `--env`, `-- ARGS`). */
export function runArgs(t: SuiteTest, module: string, s: Scratch, id: string): string[] {
  const args = ["run", module, "--id", id];
  if (s.root) args.push("--dir", `${s.root}::/`);
  for (const [k, v] of Object.entries(t.env)) args.push("--env", `${k}=${v}`);
  args.push("--", ...t.args);
  return args;
}

/** Runs the real CLI (`node bin/dwe.js`) and collects its exit code, stdout and stderr. */
export function runDwe(args: string[], s: Scratch, env: Record<string, string> = {}, timeoutMs = 180_000): Promise<Outcome> {
  return dweToEnd(args, { db: s.db, cwd: s.dir, env }, timeoutMs);
}

/** dwe's own stderr lines all start with `dwe: `; what is left is the program's stderr. */
export function programStderr(stderr: string): string {
  return stderr
    .split(/(?<=\n)/)
    .filter((l) => !l.startsWith("dwe: "))
    .join("");
}

/** What differs between an outcome and the spec (empty: the test passed). */
export function mismatches(t: SuiteTest, o: Outcome): string[] {
  const bad: string[] = [];
  if (o.code !== t.exitCode) bad.push(`exit code ${o.code ?? o.signal} (expected ${t.exitCode})`);
  if (t.stdout !== null && o.stdout !== t.stdout) bad.push(`stdout ${JSON.stringify(o.stdout)} (expected ${JSON.stringify(t.stdout)})`);
  if (t.stderr !== null && programStderr(o.stderr) !== t.stderr)
    bad.push(`stderr ${JSON.stringify(o.stderr)} (expected ${JSON.stringify(t.stderr)})`);
  if (bad.length > 0 && o.stderr !== "" && t.stderr === null) bad.push(`stderr: ${o.stderr.trim().slice(0, 600)}`);
  return bad;
}

/** The component of a test's core module (`jco new X.wasm --wasi-command`), cached by the module's hash. */
export function componentOf(wasm: string): string {
  const sha = createHash("sha256").update(readFileSync(wasm)).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "dwe-wasi-testsuite-components");
  const out = join(dir, `${basename(wasm, ".wasm")}-${sha}.component.wasm`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(process.execPath, [JCO, "new", wasm, "--wasi-command", "-o", tmp], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`jco new ${wasm} failed: ${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

/** Runs `f` over `items`, at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
