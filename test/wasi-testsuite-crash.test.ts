// The official WASI test suite under crashes, which no WASI host offers: each test is run once to
// learn its journal length N, then again, SIGKILLed right after its k-th journal entry is committed
// (k = 1, the middle, N), and resumed with `dwe resume`. The crashed run's output plus the resumed
// run's must be exactly the uncrashed run's: the spec's exit code, every stdout and stderr byte
// once (for a program that draws random numbers, what its own journal holds: see `compare`).
// `npm test` runs a slice; `npm run wasi-crash` runs every test of the suite in both modes
// (`WASI_SUITE_MODES=core npm run wasi-crash` in one).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  componentOf,
  EXPECTED_FAILURES,
  pool,
  programStderr,
  removeDir,
  runArgs,
  runDwe,
  scratch,
  suiteTests,
  SUITE,
  type Outcome,
  type Scratch,
  type SuiteTest,
} from "./support/wasi-testsuite.js";
import { crashThenResume } from "./support/kill-resume.js";

const FULL = process.env.WASI_CRASH_FULL === "1";
/** In `npm test`: tests that write files, read them back, make links and print, in core mode. */
const SLICE = [
  "c/pwrite-with-append",
  "rust/fd_readdir",
  "rust/path_link",
  "rust/file_truncation",
  "rust/stdio",
  "assemblyscript/fd_write-to-stdout",
];
const CONCURRENCY = 3;
/** The full sweep is about 500 runs of `dwe`: hours on a loaded machine. */
const HOOK_TIMEOUT_MS = FULL ? 6 * 3_600_000 : 1_800_000;

const present = existsSync(SUITE);
// WASI_SUITE_MODES=core and WASI_SUITE_ONLY=<regex> narrow a run, as in wasi-testsuite.test.ts.
const only = process.env.WASI_SUITE_ONLY === undefined ? null : new RegExp(process.env.WASI_SUITE_ONLY);
const tests = present ? suiteTests().filter((t) => (FULL || SLICE.includes(t.name)) && (only === null || only.test(t.name))) : [];
const modes = (process.env.WASI_SUITE_MODES ?? (FULL ? "core,component" : "core")).split(",") as ("core" | "component")[];

interface Crash {
  test: string;
  k: number;
  entries: number;
  problems: string[];
}

interface Journal {
  entries: number;
  /** The run drew random numbers (`wasi.random_get`): its output may differ from run to run. */
  random: boolean;
}

async function journalOf(id: string, s: Scratch): Promise<Journal> {
  const shown = await runDwe(["show", id, "--json"], s);
  const journal = (JSON.parse(shown.stdout) as { journal: { entries: number; byOp: Record<string, number> } }).journal;
  return { entries: journal.entries, random: (journal.byOp["wasi.random_get"] ?? 0) > 0 };
}

/** What a run wrote to stdout and stderr as its journal holds it (`dwe logs --json`: each piece once, in order). */
async function journaledOutput(id: string, s: Scratch): Promise<{ stdout: string; stderr: string }> {
  const logs = await runDwe(["logs", id, "--json"], s);
  const out = { stdout: "", stderr: "" };
  for (const line of logs.stdout.split("\n")) {
    if (line === "") continue;
    const entry = JSON.parse(line) as { stream?: string; message: string };
    if (entry.stream === "stdout" || entry.stream === "stderr") out[entry.stream] += entry.message;
  }
  return out;
}

/** The k to crash at: the first entry, the middle one and the last. */
function crashPoints(n: number): number[] {
  return [...new Set([1, Math.ceil(n / 2), n])].filter((k) => k >= 1 && k <= n);
}

for (const mode of modes) {
  describe.skipIf(!present)(`wasi-testsuite under SIGKILL and \`dwe resume\` (${mode})`, () => {
    let base: string;
    const crashes: Crash[] = [];
    /** Tests whose uncrashed run wrote no journal entry: there is nothing to crash after. */
    const idle: string[] = [];
    /** Tests that draw random numbers: compared with their spec and their own journal, not with another run. */
    const random: string[] = [];

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), `dwe-wasi-crash-${mode}-`));
      const passing = tests.filter((t) => EXPECTED_FAILURES[mode][t.name] === undefined);
      await pool(passing, CONCURRENCY, async (t: SuiteTest) => {
        const module = mode === "core" ? t.wasm : componentOf(t.wasm);
        const slug = t.name.replace(/[^A-Za-z0-9._-]/g, "-");
        const ref = scratch(t, base, `${slug}-ref`);
        const reference = await runDwe(runArgs(t, module, ref, slug), ref);
        const journal = await journalOf(slug, ref);
        const n = journal.entries;
        if (crashPoints(n).length === 0) idle.push(t.name);
        if (journal.random) random.push(t.name);
        for (const k of crashPoints(n)) {
          const id = `${slug}-k${k}`;
          const s = scratch(t, base, id);
          // The run kills itself right after entry k is committed.
          const { crashed, resumed } = await crashThenResume(
            runArgs(t, module, s, id),
            id,
            { db: s.db, cwd: s.dir },
            {
              crashEnv: { DWE_TEST_CRASH_AFTER_ENTRY: String(k) },
            },
          );
          const own = await journaledOutput(id, s);
          crashes.push({ test: t.name, k, entries: n, problems: compare(t, { reference, random: journal.random }, crashed, resumed, own) });
        }
      });
      const bad = crashes.filter((c) => c.problems.length > 0);
      console.log(
        `wasi-testsuite crash sweep (${mode}): ${passing.length} tests (${idle.length} with no journal entry to crash after), ${crashes.length} crashes, ${crashes.length - bad.length} resumed to the expected result`,
      );
      if (idle.length > 0) console.log(`  no journal entry: ${idle.join(", ")}`);
      if (random.length > 0) console.log(`  drew random numbers (not compared with the uncrashed run): ${random.join(", ")}`);
      for (const c of bad) console.log(`  BAD ${c.test} k=${c.k}/${c.entries}: ${c.problems.join("; ")}`);
    }, HOOK_TIMEOUT_MS);

    afterAll(() => removeDir(base));

    it("crashes every test at its first, middle and last journal entry, and each resumes to the spec's exit code and the uncrashed output, every byte once", () => {
      expect(crashes.length).toBeGreaterThanOrEqual(tests.length);
      expect(crashes.filter((c) => c.problems.length > 0)).toEqual([]);
    });
  });
}

/**
 * What differs between crash + resume and what it must give (empty: nothing): the spec's exit
 * code (and stdout and stderr, when the spec names them); every byte the run journaled printed
 * exactly once; and the uncrashed run's stdout and stderr, unless the program drew random numbers
 * (Rust's HashMap order comes from random_get, so two runs may print differently; replay keeps
 * one run's numbers, which the comparison with its own journal checks).
 */
function compare(
  t: SuiteTest,
  uncrashed: { reference: Outcome; random: boolean },
  crashed: Outcome,
  resumed: Outcome,
  own: { stdout: string; stderr: string },
): string[] {
  const bad: string[] = [];
  if (crashed.signal !== "SIGKILL") bad.push(`the crashed run was not killed (exit ${crashed.code})`);
  if (resumed.code !== t.exitCode)
    bad.push(`resume exited ${resumed.code} (expected ${t.exitCode}): ${resumed.stderr.trim().slice(0, 400)}`);
  const got = {
    stdout: crashed.stdout + resumed.stdout,
    stderr: programStderr(crashed.stderr) + programStderr(resumed.stderr),
  };
  for (const stream of ["stdout", "stderr"] as const) {
    const shown = JSON.stringify(got[stream]);
    if (got[stream] !== own[stream]) bad.push(`${stream} ${shown} (its journal: ${JSON.stringify(own[stream])})`);
    const spec = t[stream];
    if (spec !== null && got[stream] !== spec) bad.push(`${stream} ${shown} (the spec: ${JSON.stringify(spec)})`);
    const reference = stream === "stdout" ? uncrashed.reference.stdout : programStderr(uncrashed.reference.stderr);
    if (!uncrashed.random && got[stream] !== reference) bad.push(`${stream} ${shown} (uncrashed: ${JSON.stringify(reference)})`);
  }
  return bad;
}
