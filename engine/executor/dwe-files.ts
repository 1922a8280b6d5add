import { realpathSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { GrantCoversDweFiles } from "../kernel/errors.js";
import { isPostgresUrl } from "../store/pg-url.js";
import { cacheDir, defaultCacheDir } from "../runtime/cache-dir.js";
import { installDir } from "../runtime/install-dir.js";
import type { DirGrant, Grants } from "../kernel/grants.js";

/**
 * A guest must never reach dwe's own files through a `--dir` grant: the database holds every run's
 * inputs, env and journal; the cache holds code dwe executes; the install directory is dwe itself.
 * See docs/security.md ("dwe's own files").
 */
export interface DweFile {
  path: string;
  what: string;
  /** The whole directory is dwe's: a grant inside it is refused too, not only one containing it. */
  directory: boolean;
  /** Only a writable grant is refused (reading dwe's own code is harmless). */
  writesOnly: boolean;
}

/** The files of this dwe process for the database `db` (an SQLite path or a postgres:// URL). */
export function dweFiles(db: string): DweFile[] {
  const files: DweFile[] = [];
  if (!isPostgresUrl(db)) {
    const path = resolve(db);
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      files.push({
        path: path + suffix,
        what: `the dwe database${suffix ? ` (${suffix.slice(1)} file)` : ""}`,
        directory: false,
        writesOnly: false,
      });
    }
  }
  const caches = new Set([resolve(cacheDir()), resolve(defaultCacheDir())]);
  for (const path of caches) files.push({ path, what: "the dwe cache", directory: true, writesOnly: false });
  files.push({ path: installDir(), what: "the dwe installation", directory: true, writesOnly: true });
  return files;
}

/** The path with symlinks resolved as far as it exists (what it would be once created). */
function real(path: string): string {
  const rest: string[] = [];
  let p = path;
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const up = dirname(p);
      if (up === p) return path;
      rest.push(basename(p));
      p = up;
    }
  }
}

const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

/** The first of `files` that `grant` would expose, if any. */
function exposed(grant: DirGrant, files: readonly DweFile[]): DweFile | undefined {
  const host = real(grant.host);
  return files.find((f) => {
    if (f.writesOnly && grant.readonly) return false;
    const path = real(f.path);
    return within(path, host) || (f.directory && within(host, path));
  });
}

/** What the user can change so the grant leaves `f` out. */
function fixFor(f: DweFile): string {
  if (f.writesOnly) return "grant it read-only (:ro) or a directory outside it";
  if (f.directory) return "grant a directory that does not contain it, or set DWE_CACHE_DIR to a directory outside every grant";
  return "grant a directory that does not contain it, or keep the database elsewhere (--db or DWE_DB)";
}

/** Refuses grants that expose dwe's own files for the database `db`: one line naming the path and the fix. */
export function refuseGrantsOverDweFiles(grants: Grants, db: string): void {
  if (grants.dirs.length === 0) return;
  const files = dweFiles(db);
  for (const g of grants.dirs) {
    const f = exposed(g, files);
    if (!f) continue;
    const how = within(real(f.path), real(g.host)) ? "contains" : "is inside";
    throw new GrantCoversDweFiles(`--dir ${g.host} ${how} ${f.what} ${f.path}, which a guest must never reach; ${fixFor(f)}`);
  }
}
