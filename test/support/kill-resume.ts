// The crash tests' one way to kill dwe and resume it: test/core-crash.test.ts,
// test/wasi-testsuite-crash.test.ts, the torture (test/support/torture/) and the chaos harness
// (test/support/chaos/, whose workers are such processes). A `dwe` process keeps its output and
// says when it has ended; it is killed at a moment the test chooses (an HTTP request arriving, a
// command holding, a timer) or kills itself (DWE_TEST_CRASH_AFTER_ENTRY); `dwe resume` goes on;
// `attemptEnd` says what a run or resume that may have been killed left the run as. The `sh` of
// `recordingShell` records every command dwe runs, with its idempotency key.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from test/support/ or, compiled, from dist/test/support/). */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();
export const DWE_BIN = join(REPO_ROOT, "bin", "dwe.js");

/** Where a `dwe` process runs: its database (`--db`), working directory, and variables added to this environment. */
export interface DweWhere {
  db: string;
  cwd: string;
  env?: Record<string, string>;
}

/** How a `dwe` process ended, with everything it printed. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `dwe` process. `keep` bounds the output kept per stream (the end is kept). */
export class DweProcess {
  readonly child: ChildProcess;
  /** When the process has exited (its output may still be arriving). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** When it has exited and its output is all in. */
  readonly ended: Promise<Ended>;
  private readonly out = { stdout: "", stderr: "" };

  constructor(args: readonly string[], where: DweWhere, keep = Infinity) {
    this.child = spawn(process.execPath, [DWE_BIN, "--db", where.db, ...args], {
      cwd: where.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...where.env },
    });
    for (const stream of ["stdout", "stderr"] as const) {
      // Decoded as it comes (a character split over two chunks stays whole).
      this.child[stream]!.setEncoding("utf8");
      this.child[stream]!.on("data", (c: string) => {
        this.out[stream] += c;
        if (this.out[stream].length > keep) this.out[stream] = this.out[stream].slice(-Math.floor(keep / 2));
      });
    }
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve({ code, signal })));
    this.ended = new Promise((resolve) =>
      this.child.on("close", (code, signal) => resolve({ code, signal, stdout: this.out.stdout, stderr: this.out.stderr })),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What it printed on stderr so far (the end of it, when bounded by `keep`). */
  get stderr(): string {
    return this.out.stderr;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` (SIGKILL by default) unless the process has ended; true when it was sent. */
  kill(signal: NodeJS.Signals = "SIGKILL"): boolean {
    if (!this.running) return false;
    return this.child.kill(signal);
  }

  /** Kills it (SIGKILL) and resolves once it is gone. */
  async killed(): Promise<Ended> {
    this.kill("SIGKILL");
    return this.ended;
  }
}

/** `dwe ARGS` to its end; SIGKILLed after `timeoutMs` (null: never) if it has not ended by then. */
export async function dweToEnd(args: readonly string[], where: DweWhere, timeoutMs: number | null = 180_000): Promise<Ended> {
  const p = new DweProcess(args, where);
  const timer = timeoutMs === null ? null : setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  try {
    return await p.ended;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * `dwe ARGS` of a run (`run MODULE …`), killed by `kill` (given the process: it kills it from a
 * server's hook, at a marker file, after a timer) or by itself (DWE_TEST_CRASH_AFTER_ENTRY in
 * `crashEnv`); once it is gone and `beforeResume` (a look at what the crash left) is done,
 * `dwe resume ID` in the same place. Both ends, for the test to check.
 */
export async function crashThenResume(
  run: readonly string[],
  id: string,
  where: DweWhere,
  o: {
    kill?: (p: DweProcess) => void | Promise<void>;
    crashEnv?: Record<string, string>;
    beforeResume?: (crashed: Ended) => void;
    timeoutMs?: number;
  } = {},
): Promise<{ crashed: Ended; resumed: Ended }> {
  const p = new DweProcess(run, { ...where, env: { ...where.env, ...o.crashEnv } });
  const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 180_000);
  let crashed: Ended;
  try {
    await o.kill?.(p);
    crashed = await p.ended;
  } finally {
    clearTimeout(timer);
  }
  o.beforeResume?.(crashed);
  return { crashed, resumed: await dweToEnd(["resume", id], where, o.timeoutMs) };
}

/**
 * What one `dwe run` or `dwe resume` of a crash test left its run as: `completed` (exit 0);
 * `ended-before` (a resume found the run ended: the kill landed after its end was recorded);
 * `not-created` (a resume found no run or no database: the run was killed before `dwe run` created
 * it, so it is run again); `killed`; `held` (a process that may be alive holds the run: try again);
 * `failed`: anything else, a problem.
 */
export type AttemptEnd = "completed" | "ended-before" | "not-created" | "killed" | "held" | "failed";

export function attemptEnd(verb: "run" | "resume", e: Ended): AttemptEnd {
  if (e.code === 0) return "completed";
  if (verb === "resume" && /^dwe: error: run \S+ is completed; there is nothing to resume/m.test(e.stderr)) return "ended-before";
  if (/no run with id|no dwe database at/.test(e.stderr)) return "not-created";
  if (e.signal === "SIGKILL") return "killed";
  return /is being executed by/.test(e.stderr) ? "held" : "failed";
}

/** A command dwe ran, as the `sh` of `recordingShell` recorded it. */
export interface RecordedCommand {
  /** When it started (ms since the epoch). */
  at: number;
  /** Its parent when it started: the dwe process that ran it. */
  ppid: number;
  /** DWE_IDEMPOTENCY_KEY (null: none). */
  key: string | null;
  /** The script given to `sh -c`. */
  script: string;
}

/**
 * Puts an `sh` in `<dir>/bin` for dwe to find first on its PATH (dwe runs commands through `sh -c`),
 * which appends "start time|parent pid|key|script" to `<dir>/exec.log` (one write, so lines never
 * interleave): `before` the command runs (then it becomes /bin/sh, keeping its pid), or `after` it
 * ran. With `hold`, a command whose script starts with `hold.script` waits once it has run and been
 * recorded, while the file `hold.file` exists, after creating `hold.file + ".held"`. Returns the
 * directory, the environment to run dwe with, and the log's path.
 */
export function recordingShell(
  dir: string,
  o: { record: "before" } | { record: "after"; hold?: { script: string; file: string } },
): { bin: string; env: Record<string, string>; log: string } {
  const bin = join(dir, "bin");
  const log = join(dir, "exec.log");
  mkdirSync(bin, { recursive: true });
  const line = `printf '%s|%s|%s|%s\\n' "$t" "$p" "$DWE_IDEMPOTENCY_KEY" "$2" >> '${log}'`;
  const hold =
    o.record === "after" && o.hold
      ? `case "$2" in '${o.hold.script}'*) if [ -e '${o.hold.file}' ]; then touch '${o.hold.file}.held'; ` +
        `while [ -e '${o.hold.file}' ]; do sleep 0.05; done; fi;; esac\n`
      : "";
  writeFileSync(
    join(bin, "sh"),
    o.record === "before"
      ? `#!/bin/bash\nt=$EPOCHREALTIME p=$PPID\n${line}\nexec /bin/sh "$@"\n`
      : `#!/bin/bash\nt=$EPOCHREALTIME p=$PPID\n/bin/sh "$@"; st=$?\n${line}\n${hold}exit $st\n`,
  );
  chmodSync(join(bin, "sh"), 0o755);
  return { bin, env: { PATH: `${bin}:${process.env.PATH ?? ""}` }, log };
}

/** The commands `recordingShell` recorded, in the order they were recorded. */
export function recordedCommands(log: string): RecordedCommand[] {
  if (!existsSync(log)) return [];
  const out: RecordedCommand[] = [];
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const m = /^([^|]*)\|([^|]*)\|([^|]*)\|(.*)$/.exec(line);
    if (!m) continue;
    out.push({ at: Math.round(Number(m[1]) * 1000), ppid: Number(m[2]), key: m[3] === "" ? null : m[3]!, script: m[4]! });
  }
  return out;
}
