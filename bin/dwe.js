#!/usr/bin/env node
// Thin launcher. `npm install` (scripts/prepare.mjs) compiles the TypeScript into dist/ and bundles the CLI
// into one script, dist/bundle/cli.cjs (docs/architecture.md, "The bundle"). The bundle runs unless it is
// older than the compiled CLI (a `tsc` after the last bundling): then the compiled files run, so a build
// by tsc alone is never shadowed by a stale bundle.
// A CommonJS script (bin/package.json): an ES module entry would start Node's ES module loader first.
"use strict";
const { readFileSync, renameSync, statSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const { Script } = require("node:vm");

const root = join(__dirname, "..");
const bundle = join(root, "dist", "bundle", "cli.cjs");
const compiled = join(root, "dist", "engine", "cli", "main.js");
const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs;
const [bundled, built] = [mtime(bundle), mtime(compiled)];
if (bundled === undefined && built === undefined) {
  process.stderr.write(
    "dwe: not built yet (dist/ is missing); run `npm install` (or `npm run build`) in " + root + "\n",
  );
  process.exit(2);
}
const debug = process.argv.includes("--debug");
// --debug prints stack traces: mapped back to the TypeScript sources (before any of dwe's code loads).
if (debug) process.setSourceMapsEnabled(true);

if (bundled === undefined || (built !== undefined && bundled < built)) {
  import(pathToFileURL(compiled).href).catch((err) => {
    process.stderr.write(`dwe: cannot load ${compiled}: ${err.message}; run \`npm run build\`\n`);
    process.exit(2);
  });
} else if (debug) {
  require(bundle);
} else {
  runWithCodeCache(bundle);
}

/**
 * Compiles the bundle with V8's code cache, kept beside it per V8 version (Node 20 has no compile cache
 * for modules): compiling the whole CLI from source costs more than a short command. A missing or
 * rejected cache is written again when the command ends, if the directory is writable; it is as
 * trusted as the code beside it, and a guest may never be granted to write there (docs/security.md).
 */
function runWithCodeCache(file) {
  const cacheFile = `${file}.${process.versions.v8}.v8-cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, "utf8")}\n});`;
  const script = new Script(source, {
    filename: file,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so the cache holds the functions this command compiled, not only the top level.
    process.once("exit", () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only installation runs without the cache.
      }
    });
  }
  // Node 20 runs no import() of a script compiled here: the bundle imports its external packages (jco,
  // binaryen) through this function instead (scripts/bundle.mjs), resolved from here as from the bundle.
  globalThis[Symbol.for("dwe.import")] = (specifier) => import(specifier);
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
}
