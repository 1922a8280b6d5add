import { posix } from "node:path";
import type { Grants } from "../../engine/kernel/grants.js";
import { MAX_PATH_BYTES, type ConfinedRoot } from "../confined-root.js";
import { resolveGuestPath } from "../fs-sandbox.js";
import { Errno, ERRNO, toWasiError, WasiError } from "./errno.js";
import type { FdTable } from "./fd-table.js";

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

/**
 * The absolute guest path `path` names relative to the directory `dir` (a guest path under the
 * granted directory `root`), as text: no disk access. Shared by preview1's directory fds and
 * wasi:filesystem's descriptors. `guest` is normalized; `path` is the same with a trailing slash
 * kept (it asks for a directory). Throws Errno: ENAMETOOLONG, EINVAL for a NUL byte, ENOTCAPABLE
 * for an absolute path or one whose `..` climbs above `dir`.
 */
export function guestPathUnder(dir: string, root: string, path: string): { guest: string; path: string } {
  // Before any work proportional to the path (deterministic: the exact byte limit is checked on use).
  if (path.length > MAX_PATH_BYTES) throw new Errno(ERRNO.ENAMETOOLONG);
  if (path.includes("\0")) throw new Errno(ERRNO.EINVAL);
  if (path.startsWith("/")) throw new Errno(ERRNO.ENOTCAPABLE);
  // Walked component by component from the directory, as the OS would: the directory is the
  // capability, so a `..` that climbs above it is ENOTCAPABLE, even when the path comes back in
  // (`sub/../../sub/x`), and even while still inside the preopen (as wasmtime).
  const stack: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c !== "..") stack.push(c);
    else if (stack.pop() === undefined) throw new Errno(ERRNO.ENOTCAPABLE);
  }
  const guest = stack.length === 0 ? dir : posix.join(dir, ...stack);
  if (!(guest === root || root === "/" || guest.startsWith(root + "/"))) throw new Errno(ERRNO.ENOTCAPABLE);
  const slash = path.endsWith("/") && guest !== "/";
  return { guest, path: slash ? guest + "/" : guest };
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
    throw toWasiError(err, guest);
  }
  if (write && resolved.grant.readonly) throw new WasiError("EROFS", `'${guest}' is in a directory granted read-only (:ro)`);
  // A trailing slash asks for a directory; ConfinedRoot reads it from `rel` (`file/` is ENOTDIR).
  const rel = guest.length > 1 && guest.endsWith("/") && resolved.rel !== "" ? resolved.rel + "/" : resolved.rel;
  return { root: resolved.root, rel, readonly: resolved.grant.readonly };
}

/** True when `guest` is a granted directory itself (which the guest may not remove or rename). */
export function isGrantRoot(grants: Grants, guest: string): boolean {
  const path = guest.length > 1 ? guest.replace(/\/+$/, "") || "/" : guest;
  return grants.dirs.some((g) => g.guest === path);
}
