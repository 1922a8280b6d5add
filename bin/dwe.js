#!/usr/bin/env node
// Thin launcher: the CLI is compiled from TypeScript into dist/ by `npm install` (scripts/prepare.mjs).
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "dist", "engine", "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write(
    "dwe: not built yet (dist/ is missing); run `npm install` (or `npm run build`) in " + root + "\n",
  );
  process.exit(2);
}
await import(pathToFileURL(main).href);
