import { homedir } from "node:os";
import { join } from "node:path";

/** The per-user cache of instrumented modules and transpiled components when DWE_CACHE_DIR is not set. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "dwe");
}

/** The cache this process uses: `$DWE_CACHE_DIR`, else the default (docs/security.md, "dwe's own files"). */
export function cacheDir(): string {
  return process.env.DWE_CACHE_DIR ?? defaultCacheDir();
}
