import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { UsageError } from "../../kernel/errors.js";
import { installDir } from "../../runtime/install-dir.js";
import { assemblyScriptProject } from "../scaffold/assemblyscript.js";
import { rustProject } from "../scaffold/rust.js";
import type { ScaffoldSpec } from "../scaffold/types.js";

const LANGS = ["assemblyscript", "rust"] as const;
type Lang = (typeof LANGS)[number];

function packageJson(dir: string): { version?: string; devDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string; devDependencies?: Record<string, string> };
}

/** A valid npm package and crate name made of the directory's name. */
function projectName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return /^[a-z]/.test(name) ? name : `workflow-${name || "1"}`.replace(/-$/, "");
}

function spec(dir: string): ScaffoldSpec {
  const root = installDir();
  const own = packageJson(root);
  // An installed dwe (under node_modules) is depended on by version; a checkout by its path.
  const installed = root.split(sep).includes("node_modules");
  return {
    name: projectName(dir),
    dweDependency: installed ? `^${own.version ?? "0.1.0"}` : `file:${root}`,
    assemblyscriptVersion: own.devDependencies?.assemblyscript ?? "^0.28.9",
    rustSdk: join(root, "guest-sdk", "rust"),
  };
}

/**
 * `dwe init [--lang assemblyscript|rust] DIR`: writes a workflow project into DIR (new or empty)
 * that builds with one command. Nothing is written when DIR holds files.
 */
export function initCommand(dirArg: string, flags: { lang?: string; json?: boolean }): Promise<number> {
  const lang = (flags.lang ?? "assemblyscript") as Lang;
  if (!LANGS.includes(lang)) throw new UsageError(`bad --lang '${flags.lang}': use assemblyscript or rust`);
  const dir = resolve(dirArg);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`cannot init ${dir}: it is a file; give a new or empty directory`);
    if (readdirSync(dir).length > 0) throw new UsageError(`cannot init ${dir}: it is not empty; give a new or empty directory`);
  }
  const s = spec(dir);
  const files = lang === "rust" ? rustProject(s) : assemblyScriptProject(s);
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.text, { flag: "wx" });
  }
  const build = lang === "rust" ? "cargo build --release" : "npm install && npm run build";
  const wasm = lang === "rust" ? `target/wasm32-wasi/release/${s.name.replace(/-/g, "_")}.wasm` : `build/${s.name}.wasm`;
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ dir, lang, files: files.map((f) => f.path), build, wasm })}\n`
      : `created a ${lang === "rust" ? "Rust" : "AssemblyScript"} workflow in ${dir}\n` +
          `  cd ${dirArg} && ${build}\n  npx dwe run ${wasm} --input '{"name":"ana"}'\n`,
  );
  return Promise.resolve(0);
}
