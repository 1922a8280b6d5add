import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const DWE = join(ROOT, "bin", "dwe.js");
export const example = (name: string) => join(ROOT, "examples", name, "build", `${name}.wasm`);

/**
 * A fresh working directory and a database beside it (not in it: a test may grant the directory,
 * and dwe refuses a grant that contains its database); both removed by `cleanup`.
 */
export function workdir(prefix = "dwe-test-"): { dir: string; db: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(base, "work");
  mkdirSync(dir);
  return { dir, db: join(base, "dwe.db"), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `dwe` CLI to completion. */
export function dwe(args: string[], opts: { cwd: string; db: string; input?: string; env?: Record<string, string> }): CliResult {
  const r = spawnSync(process.execPath, [DWE, "--db", opts.db, ...args], {
    cwd: opts.cwd,
    encoding: "utf8",
    input: opts.input ?? "",
    env: { ...process.env, ...opts.env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `dwe` asynchronously (for tests that must serve HTTP from this process meanwhile). */
export function dweAsync(args: string[], opts: { cwd: string; db: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawnDwe(args, opts);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export function spawnDwe(args: string[], opts: { cwd: string; db: string; env?: Record<string, string> }): ChildProcess {
  return spawn(process.execPath, [DWE, "--db", opts.db, ...args], {
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...opts.env },
  });
}

/** Resolves when the child exits; returns its exit code or signal. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
}

/** `dwe ARGS`, killed with SIGKILL after `killAfterMs` if it has not ended by itself (code null then). */
export function runFor(w: { dir: string; db: string }, args: string[], killAfterMs = 60_000): Promise<CliResult & { ms: number }> {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(process.execPath, [DWE, "--db", w.db, ...args], { cwd: w.dir, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("close", (code) => {
      clearTimeout(kill);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Runs a Node script of this repository (the compiled torture and chaos harnesses) to completion. */
export function runScript(script: string, args: string[]): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(ROOT, script), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}
