import type { Grants } from "../../engine/kernel/grants.js";
import type { ConfinedRoot } from "../confined-root.js";
import { resolveGuestPath } from "../fs-sandbox.js";
import { FsError, fsErrorOf } from "../fs-error.js";
import { Errno, ERRNO } from "./errno.js";
import type { FdTable } from "./fd-table.js";
import { guestPathUnder } from "./guest-paths.js";

/**
 * The absolute guest path a WASI path names relative to directory fd `dirfd` (deterministic: no
 * disk access). A WASI path is always relative to its directory fd: an absolute path, or `..`
 * climbing out of the preopen the fd came from, is ENOTCAPABLE. Symlinks are resolved, confined,
 * on the host side (`confinedPath`).
 */
export function guestPathAt(
  table: FdTable,
  grants: Grants,
  dirfd: number,
  path: string | null,
): { guest: string; path: string; grant: number } {
  const dir = table.require(dirfd);
  if (dir.kind !== "dir") throw new Errno(ERRNO.ENOTDIR);
  if (path === null) throw new Errno(ERRNO.EINVAL);
  const root = grants.dirs[dir.grant]?.guest;
  if (root === undefined) throw new Errno(ERRNO.EBADF);
  return { ...guestPathUnder(dir.guest, root, path), grant: dir.grant };
}

/** A guest path mapped into its grant: every operation on it goes through `root` (confined-root.ts). */
export interface Confined {
  root: ConfinedRoot;
  /** The path relative to the grant's root ("" for the root itself). */
  rel: string;
  /** The grant is read-only. */
  readonly: boolean;
}

/**
 * Maps an absolute guest path into the grant that covers it, refusing (ENOTCAPABLE) one outside
 * every grant and (EROFS, when `write`) one under a directory granted read-only. No disk access:
 * symlinks are resolved, confined, when `root` is used.
 */
export function confinedPath(grants: Grants, guest: string, write: boolean): Confined {
  let resolved;
  try {
    resolved = resolveGuestPath(grants, guest, false);
  } catch (err) {
    throw fsErrorOf(err, guest);
  }
  if (write && resolved.grant.readonly) throw new FsError("EROFS", `'${guest}' is in a directory granted read-only (:ro)`);
  // A trailing slash asks for a directory; ConfinedRoot reads it from `rel` (`file/` is ENOTDIR).
  const rel = guest.length > 1 && guest.endsWith("/") && resolved.rel !== "" ? resolved.rel + "/" : resolved.rel;
  return { root: resolved.root, rel, readonly: resolved.grant.readonly };
}

/** True when `guest` is a granted directory itself (which the guest may not remove or rename). */
export function isGrantRoot(grants: Grants, guest: string): boolean {
  const path = guest.length > 1 ? guest.replace(/\/+$/, "") || "/" : guest;
  return grants.dirs.some((g) => g.guest === path);
}
