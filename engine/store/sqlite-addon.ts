import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let found: string | null | undefined;

/**
 * The compiled better-sqlite3 addon's path, handed to better-sqlite3 as `nativeBinding`: its own lookup
 * (the `bindings` package) loads two packages and tries a dozen paths at every start of `dwe`.
 * Undefined when the addon is not where its build puts it (build/Release, or build/Debug): then
 * better-sqlite3 looks for it itself.
 */
export function sqliteAddonPath(): string | undefined {
  if (found === undefined) {
    try {
      const pkg = createRequire(import.meta.url).resolve("better-sqlite3/package.json");
      const build = join(dirname(pkg), "build");
      found = ["Release", "Debug"].map((kind) => join(build, kind, "better_sqlite3.node")).find((f) => existsSync(f)) ?? null;
    } catch {
      found = null;
    }
  }
  return found ?? undefined;
}
