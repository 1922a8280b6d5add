// The official WASI test suite under crashes, which no WASI host offers: each test is run once to
// learn its journal length N, then again, SIGKILLed right after its k-th journal entry is committed
// (k = 1, the middle, N), and resumed with `dwe resume`. The crashed run's output plus the resumed
// run's must be exactly the uncrashed run's: the same exit code, every stdout and stderr byte once.
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
  type SuiteTest,
} from "./support/wasi-testsuite.js";

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

async function entriesOf(id: string, s: { dir: string; db: string; root: string | null }): Promise<number> {
  const shown = await runDwe(["show", id, "--json"], s);
  return (JSON.parse(shown.stdout) as { journal: { entries: number } }).journal.entries;
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

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), `dwe-wasi-crash-${mode}-`));
      const passing = tests.filter((t) => EXPECTED_FAILURES[mode][t.name] === undefined);
      await pool(passing, CONCURRENCY, async (t: SuiteTest) => {
        const module = mode === "core" ? t.wasm : componentOf(t.wasm);
        const slug = t.name.replace(/[^A-Za-z0-9._-]/g, "-");
        const ref = scratch(t, base, `${slug}-ref`);
        const reference = await runDwe(runArgs(t, module, ref, slug), ref);
        const n = await entriesOf(slug, ref);
        if (crashPoints(n).length === 0) idle.push(t.name);
        for (const k of crashPoints(n)) {
          const id = `${slug}-k${k}`;
          const s = scratch(t, base, id);
          const crashed = await runDwe(runArgs(t, module, s, id), s, { DWE_TEST_CRASH_AFTER_ENTRY: String(k) });
          const resumed = await runDwe(["resume", id], s);
          crashes.push({ test: t.name, k, entries: n, problems: compare(t, reference, crashed, resumed) });
        }
      });
      const bad = crashes.filter((c) => c.problems.length > 0);
      console.log(
        `wasi-testsuite crash sweep (${mode}): ${passing.length} tests (${idle.length} with no journal entry to crash after), ${crashes.length} crashes, ${crashes.length - bad.length} resumed to the uncrashed result`,
      );
      if (idle.length > 0) console.log(`  no journal entry: ${idle.join(", ")}`);
      for (const c of bad) console.log(`  BAD ${c.test} k=${c.k}/${c.entries}: ${c.problems.join("; ")}`);
    }, HOOK_TIMEOUT_MS);

    afterAll(() => removeDir(base));

    it("crashes every test at its first, middle and last journal entry, and each resumes to the uncrashed result", () => {
      expect(crashes.length).toBeGreaterThanOrEqual(tests.length);
      expect(crashes.filter((c) => c.problems.length > 0)).toEqual([]);
    });
  });
}

/** What differs between the uncrashed run and crash + resume (empty: the same). */
function compare(t: SuiteTest, reference: Outcome, crashed: Outcome, resumed: Outcome): string[] {
  const bad: string[] = [];
  if (crashed.signal !== "SIGKILL") bad.push(`the crashed run was not killed (exit ${crashed.code})`);
  if (resumed.code !== t.exitCode)
    bad.push(`resume exited ${resumed.code} (expected ${t.exitCode}): ${resumed.stderr.trim().slice(0, 400)}`);
  const stdout = crashed.stdout + resumed.stdout;
  if (stdout !== reference.stdout) bad.push(`stdout ${JSON.stringify(stdout)} (uncrashed: ${JSON.stringify(reference.stdout)})`);
  const stderr = programStderr(crashed.stderr) + programStderr(resumed.stderr);
  if (stderr !== programStderr(reference.stderr))
    bad.push(`stderr ${JSON.stringify(stderr)} (uncrashed: ${JSON.stringify(programStderr(reference.stderr))})`);
  return bad;
}
