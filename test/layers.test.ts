// The import rules (.dependency-cruiser.cjs, docs/architecture.md "Layers") catch what they forbid:
// each case builds a small tree with dwe's layout in a temporary directory, adds one bad import,
// and runs the checker of `npm run lint:layers` on it with the real rules file.
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const RULES = join(ROOT, ".dependency-cruiser.cjs");
const DEPCRUISE = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

/** A tree that follows the rules: the kernel at the bottom, host functions on it, the executor above both. */
const GOOD: Record<string, string> = {
  "engine/kernel/reply.ts": "export interface Reply { ok: boolean }\n",
  "engine/kernel/errors.ts": "export class DweError extends Error {}\n",
  "engine/journal/entry.ts": 'import type { Reply } from "../kernel/reply.js";\nexport type Entry = Reply;\n',
  "engine/store/types.ts": 'import type { Entry } from "../journal/entry.js";\nexport type Row = Entry;\n',
  "host-functions/clock.ts": 'import type { Reply } from "../engine/kernel/reply.js";\nexport const now = (): Reply => ({ ok: true });\n',
  "engine/executor/dispatcher.ts":
    'import { now } from "../../host-functions/clock.js";\nimport type { Row } from "../store/types.js";\nexport const call = (): Row => now();\n',
  "guest-sdk/assemblyscript/index.ts": "export function log(): void {}\n",
  "examples/hello/assembly/index.ts": 'import { log } from "../../../guest-sdk/assemblyscript/index";\nlog();\n',
  "console/element.js": "export const h = () => null;\n",
  "console/app.js": 'import { h } from "./element.js";\nh();\n',
};

const base = mkdtempSync(join(tmpdir(), "dwe-layers-"));
let trees = 0;
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The names of the rules the checker reports as broken in GOOD plus `extra`, sorted. */
function violations(extra: Record<string, string>): string[] {
  const dir = join(base, String(trees++));
  for (const [path, text] of Object.entries({ ...GOOD, ...extra })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules")); // packages resolve as in the repository
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }));
  // Exits non-zero when a rule is broken; the report on stdout says which.
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, "-c", RULES, "--output-type", "json", "engine", "host-functions", "guest-sdk", "examples", "console"],
    {
      cwd: dir,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (run.stdout === "") throw new Error(`the checker printed no report: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as { summary: { violations: { rule: { name: string } }[] } };
  return [...new Set(result.summary.violations.map((v) => v.rule.name))].sort();
}

describe("import rules", () => {
  it("a tree whose arrows point down the layers passes", () => {
    expect(violations({})).toEqual([]);
  });

  it("a host function that imports the executor is refused (host functions import only the kernel), and so is the folder cycle it makes", () => {
    expect(violations({ "host-functions/bad.ts": 'import { call } from "../engine/executor/dispatcher.js";\ncall();\n' })).toEqual([
      "layer-host-functions",
      "no-folder-cycle",
    ]);
  });

  it("a host function that imports an npm package is refused (the kernel provides what host functions need of one)", () => {
    expect(violations({ "host-functions/bad.ts": 'import { pack } from "msgpackr";\nexport const p = pack;\n' })).toEqual([
      "host-functions-npm",
    ]);
  });

  it("the store importing the executor is refused, and so is the folder cycle it makes", () => {
    expect(
      violations({ "engine/store/bad.ts": 'import type { call } from "../executor/dispatcher.js";\nexport type C = typeof call;\n' }),
    ).toEqual(["layer-store", "no-folder-cycle"]);
  });

  it("the kernel importing anything of the engine's is refused, even a type, and so is the folder cycle it makes", () => {
    expect(violations({ "engine/kernel/bad.ts": 'import type { Entry } from "../journal/entry.js";\nexport type E = Entry;\n' })).toEqual([
      "layer-kernel",
      "no-folder-cycle",
    ]);
  });

  it("two files that import each other are a cycle", () => {
    expect(
      violations({
        "engine/kernel/a.ts": 'import { b } from "./b.js";\nexport const a = (): number => b() + 1;\n',
        "engine/kernel/b.ts": 'import type { a } from "./a.js";\nexport const b = (): number => 0;\nexport type A = typeof a;\n',
      }),
    ).toEqual(["no-file-cycle"]);
  });

  it("two folders of one layer that import each other are a cycle, though no file cycle is", () => {
    expect(
      violations({
        "host-functions/wasi/a.ts": 'import { d } from "../wasi-p2/c.js";\nexport const a = d;\n',
        "host-functions/wasi/b.ts": "export const b = 1;\n",
        "host-functions/wasi-p2/c.ts": 'import { b } from "../wasi/b.js";\nexport const c = b;\nexport const d = 2;\n',
      }),
    ).toEqual(["no-folder-cycle"]);
  });

  it("guest code that imports Node or the engine is refused", () => {
    expect(
      violations({
        "guest-sdk/assemblyscript/bad.ts": 'import { readFileSync } from "node:fs";\nexport const f = readFileSync;\n',
        "examples/hello/assembly/bad.ts": 'import { now } from "../../../host-functions/clock.js";\nexport const n = now;\n',
      }),
    ).toEqual(["guest-imports-host"]);
  });

  it("a file in a folder that no layer names is refused until the table names it", () => {
    expect(violations({ "engine/console/page.ts": 'import type { Row } from "../store/types.js";\nexport type P = Row;\n' })).toEqual([
      "unlayered",
    ]);
  });
  it("the web console importing anything outside console/ is refused (it runs in the browser)", () => {
    expect(
      violations({ "console/bad.js": 'import { DweError } from "../engine/kernel/errors.js";\nexport const E = DweError;\n' }),
    ).toEqual(["console-browser-only"]);
  });

  it("the component's guest thread reaching a host function's implementation, even through a guest-side file, is refused; the shared tables are not", () => {
    const guestSide = {
      "host-functions/fs-error.ts": "export const FS_ERRORS = {};\n",
      "host-functions/wasi-p2/io.ts": 'import { FS_ERRORS } from "../fs-error.js";\nexport const io = FS_ERRORS;\n',
      "engine/runtime/component-worker.ts": 'import { io } from "../../host-functions/wasi-p2/io.js";\nexport const w = io;\n',
    };
    expect(violations(guestSide)).toEqual([]);
    expect(
      violations({
        ...guestSide,
        "host-functions/fs.ts": 'import { now } from "./clock.js";\nexport const read = now;\n',
        "host-functions/wasi-p2/io.ts": 'import { read } from "../fs.js";\nexport const io = read;\n',
      }),
    ).toEqual(["component-thread-guest-side"]);
  });
});
