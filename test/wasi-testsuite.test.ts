// The official WASI preview1 test suite (../shared/wasi-testsuite, see its SOURCE.txt) through the
// real `dwe run` CLI, as a core module and as a component (`jco new X.wasm --wasi-command`): every
// test must give the exit code, stdout and stderr its spec names, as it does under wasmtime. The
// tests that cannot pass are listed with their reason (the same list is in docs/wasi.md).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  componentOf,
  EXPECTED_FAILURES,
  mismatches,
  pool,
  removeDir,
  runArgs,
  runDwe,
  scratch,
  suiteTests,
  SUITE,
  type SuiteTest,
} from "./support/wasi-testsuite.js";

const CONCURRENCY = 3;
const present = existsSync(SUITE);
if (!present) console.warn(`wasi-testsuite: ${SUITE} is absent; the conformance tests are skipped`);
// WASI_SUITE_MODES=core and WASI_SUITE_ONLY=<regex> narrow a run while working on one test.
const only = process.env.WASI_SUITE_ONLY === undefined ? null : new RegExp(process.env.WASI_SUITE_ONLY);
const all = present ? suiteTests() : [];
const tests = only ? all.filter((t) => only.test(t.name)) : all;
const modes = (process.env.WASI_SUITE_MODES ?? "core,component").split(",") as ("core" | "component")[];
// Components cost a jco transpile each: `npm test` runs every test as a core module and a slice as
// components (every fourth, and every documented failure); `npm run wasi` (WASI_SUITE_FULL=1) runs all.
const full = process.env.WASI_SUITE_FULL === "1" || only !== null;
const inMode = (mode: "core" | "component"): SuiteTest[] =>
  mode === "core" || full ? tests : tests.filter((t, i) => i % 4 === 0 || EXPECTED_FAILURES.component[t.name] !== undefined);

for (const mode of modes) {
  const picked = inMode(mode);
  describe.skipIf(!present)(
    `wasi-testsuite through \`dwe run\` (${mode}${picked.length < tests.length ? `, ${picked.length} of ${tests.length}` : ""})`,
    () => {
      let base: string;
      const results = new Map<string, string[]>();

      beforeAll(async () => {
        base = mkdtempSync(join(tmpdir(), `dwe-wasi-suite-${mode}-`));
        await pool(picked, CONCURRENCY, async (t: SuiteTest) => {
          const module = mode === "core" ? t.wasm : componentOf(t.wasm);
          const id = t.name.replace(/[^A-Za-z0-9._-]/g, "-");
          const s = scratch(t, base, id);
          results.set(t.name, mismatches(t, await runDwe(runArgs(t, module, s, id), s)));
        });
        const failed = [...results].filter(([, bad]) => bad.length > 0);
        console.log(`wasi-testsuite (${mode}): ${picked.length - failed.length} of ${picked.length} passed`);
        for (const [name, bad] of failed) console.log(`  FAIL ${name}: ${bad.join("; ")}`);
      }, 2_400_000);

      afterAll(() => removeDir(base));

      it("finds all 72 preview1 tests", () => {
        expect(all).toHaveLength(72);
      });

      for (const t of picked) {
        const reason = EXPECTED_FAILURES[mode][t.name];
        if (reason === undefined) {
          it(`${t.name} passes`, () => {
            expect(results.get(t.name)).toEqual([]);
          });
        } else {
          // Still failing, for the stated reason; when it starts passing, take it off the list.
          it(`${t.name} fails as documented (${reason})`, () => {
            expect(results.get(t.name)).not.toEqual([]);
          });
        }
      }
    },
  );
}
