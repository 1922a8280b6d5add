// Runs on `npm install`, `npm pack` (prepack) and before `npm test`: compiles the TypeScript sources into dist/,
// bundles the CLI into dist/bundle/ (scripts/bundle.mjs), builds the AssemblyScript examples and writes the
// bundle's code cache from a run of one (scripts/warm-code-cache.mjs), so `npx dwe …` works, and starts fast,
// with no manual build step.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

function step(what, args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`dwe prepare: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

// `npm pack` and `npm publish` run `prepack` (this script) and then `prepare`: build once.
if (process.env.npm_lifecycle_event === "prepare" && ["pack", "publish"].includes(process.env.npm_command ?? "")) process.exit(0);

if (!existsSync(tsc)) {
  console.error("dwe prepare: typescript is not installed; run `npm install` (with dev dependencies)");
  process.exit(1);
}
step("compiling TypeScript", [tsc, "-p", "tsconfig.json"]);
step("bundling the CLI", [join(root, "scripts", "bundle.mjs")]);
if (existsSync(join(root, "scripts", "build-examples.mjs"))) step("building examples", [join(root, "scripts", "build-examples.mjs")]);
step("warming the CLI's code cache", [join(root, "scripts", "warm-code-cache.mjs")]);
