#!/usr/bin/env node
// Embeds a WIT world into a core module (wasm-tools component embed), with the WASI 0.2.12
// packages jco ships as its dependencies, given as one WIT source: jco's file-based `embed` cannot
// read directories here. Used to build test/fixtures/components/http-get.
//
//   node scripts/embed-wit.mjs CORE.wasm WORLD.wit WORLD-NAME OUT.wasm
import { componentEmbed } from "@bytecodealliance/jco";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [core, world, name, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node scripts/embed-wit.mjs CORE.wasm WORLD.wit WORLD-NAME OUT.wasm");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const deps = join(root, "node_modules", "@bytecodealliance", "jco", "lib", "wit", "builtin", "0.2.12");
let source = readFileSync(world, "utf8");
for (const dir of readdirSync(deps).sort()) {
  const wit = readFileSync(join(deps, dir, "package.wit"), "utf8").replace(/^package ([^;]+);/m, "package $1 {");
  source += `\n${wit}\n}\n`;
}
writeFileSync(out, await componentEmbed({ binary: readFileSync(core), witSource: source, world: name }));
