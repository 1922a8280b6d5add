#!/usr/bin/env node
// Compiles the AssemblyScript examples: examples/NAME/assembly/index.ts (or examples/NAME/index.ts)
// -> examples/NAME/build/NAME.wasm, with the AssemblyScript compiler's JS API (offline, in-process).
// The workflow that ships with dwe, guest-sdk/pipeline (the pipeline workflow, on the AssemblyScript
// SDK), is built the same way, to guest-sdk/pipeline/build/pipeline.wasm.
//
//   node scripts/build-examples.mjs [--force] [NAME...]
//
// An example is skipped when its .wasm is newer than all of its sources, the SDK's sources
// (guest-sdk/assemblyscript) and this script. Examples with a Cargo.toml (Rust) are left alone.
// Exits 1 if any example fails to compile.

import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLES = join(ROOT, "examples");
const SDK = join(ROOT, "guest-sdk", "assemblyscript");
/** The workflows that ship with dwe: built like the examples, from guest-sdk/NAME/index.ts. */
const SHIPPED = [join(ROOT, "guest-sdk", "pipeline")];

/** The flags every AssemblyScript guest is built with (see guest-sdk/assemblyscript/README.md). */
export const ASC_FLAGS = ["--optimizeLevel", "3", "--shrinkLevel", "1", "--noAssert", "--runtime", "incremental"];

/** All .ts files under `dir` (recursively), skipping build/ and node_modules/. */
function tsFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== "build" && ent.name !== "node_modules") out.push(...tsFiles(p));
    } else if (ent.name.endsWith(".ts")) {
      out.push(p);
    }
  }
  return out;
}

/** The AssemblyScript examples and shipped workflows: [{ name, entry, srcDir, outFile }]. */
function findExamples() {
  const shipped = SHIPPED.filter((dir) => existsSync(join(dir, "index.ts"))).map((dir) => {
    const name = basename(dir);
    return { name, entry: join(dir, "index.ts"), srcDir: dir, outFile: join(dir, "build", `${name}.wasm`) };
  });
  return [...findIn(EXAMPLES), ...shipped];
}

function findIn(root) {
  if (!existsSync(root)) return [];
  const found = [];
  for (const ent of readdirSync(root, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue;
    const dir = join(root, ent.name);
    if (existsSync(join(dir, "Cargo.toml"))) continue; // Rust example
    let entry = join(dir, "assembly", "index.ts");
    let srcDir = join(dir, "assembly");
    if (!existsSync(entry)) {
      entry = join(dir, "index.ts");
      srcDir = dir;
      if (!existsSync(entry)) continue;
    }
    found.push({ name: ent.name, entry, srcDir, outFile: join(dir, "build", `${ent.name}.wasm`) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function newestMtime(files) {
  let t = 0;
  for (const f of files) t = Math.max(t, statSync(f).mtimeMs);
  return t;
}

/** Compiles `entry` to `outFile`; returns null or the compiler's error text. */
export async function compileAs(entry, outFile) {
  mkdirSync(dirname(outFile), { recursive: true });
  let stderr = "";
  const sink = (append) => ({
    write(chunk) {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    },
  });
  const { error } = await asc.main([relative(ROOT, entry), "--outFile", relative(ROOT, outFile), ...ASC_FLAGS, "--baseDir", ROOT], {
    stdout: sink(() => {}),
    stderr: sink((s) => {
      stderr += s;
    }),
  });
  return error ? `${stderr.trim()}\n${error.message}`.trim() : null;
}

async function main(args) {
  const force = args.includes("--force");
  const names = args.filter((a) => !a.startsWith("--"));
  let examples = findExamples();
  if (names.length > 0) {
    const unknown = names.filter((n) => !examples.some((e) => e.name === n));
    if (unknown.length > 0) {
      console.error(`build-examples: no AssemblyScript example named ${unknown.join(", ")}`);
      return 1;
    }
    examples = examples.filter((e) => names.includes(e.name));
  }
  const shared = [...tsFiles(SDK), fileURLToPath(import.meta.url)];
  const sharedMtime = newestMtime(shared);
  const failed = [];
  for (const ex of examples) {
    const srcMtime = Math.max(sharedMtime, newestMtime(tsFiles(ex.srcDir)));
    if (!force && existsSync(ex.outFile) && statSync(ex.outFile).mtimeMs > srcMtime) {
      console.log(`up to date  ${relative(ROOT, ex.outFile)}`);
      continue;
    }
    const t0 = Date.now();
    const err = await compileAs(ex.entry, ex.outFile);
    if (err) {
      failed.push(ex.name);
      console.error(`FAILED      ${relative(ROOT, ex.entry)}\n${err}\n`);
      continue;
    }
    const kb = (statSync(ex.outFile).size / 1024).toFixed(1);
    console.log(`built       ${relative(ROOT, ex.outFile)} (${kb} KiB, ${Date.now() - t0} ms)`);
  }
  if (failed.length > 0) {
    console.error(`build-examples: ${failed.length} example(s) failed to compile: ${failed.join(", ")}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`build-examples: ${err?.stack ?? err}`);
      process.exit(1);
    },
  );
}
