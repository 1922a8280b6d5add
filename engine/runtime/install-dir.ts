import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let found: string | undefined;

/**
 * dwe's package directory: the nearest one above this code that holds a package.json. The code runs
 * from dist/engine/… (compiled by tsc) or from dist/bundle/ (the bundled CLI and its threads), so
 * its depth below the package is not fixed.
 */
export function installDir(): string {
  if (found !== undefined) return found;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) return (found = start);
    dir = up;
  }
  return (found = dir);
}
