import { posix } from "node:path";
import type { Grants } from "../../engine/executor/grants.js";
import { resolveGuestPath } from "../fs-sandbox.js";
import { Errno, ERRNO, toWasiError, WasiError } from "./errno.js";
import type { FdTable } from "./fd-table.js";

/**
 * The absolute guest path a WASI path names relative to directory fd `dirfd` (deterministic: no
 * disk access). A WASI path is always relative to its directory fd: an absolute path, or `..`
 * climbing out of the preopen the fd came from, is ENOTCAPABLE. Symlinks are checked on the host
 * side (`hostPath`).
 */
export function guestPathAt(table: FdTable, grants: Grants, dirfd: number, path: string | null): { guest: string; grant: number } {
  const dir = table.require(dirfd);
  if (dir.kind !== "dir") throw new Errno(ERRNO.ENOTDIR);
  if (path === null || path.includes("\0")) throw new Errno(ERRNO.EINVAL);
  if (path.startsWith("/")) throw new Errno(ERRNO.ENOTCAPABLE);
  const root = grants.dirs[dir.grant]?.guest;
  if (root === undefined) throw new Errno(ERRNO.EBADF);
  let guest = posix.normalize(posix.join(dir.guest, path === "" ? "." : path));
  if (guest.length > 1 && guest.endsWith("/")) guest = guest.slice(0, -1);
  if (!(guest === root || root === "/" || guest.startsWith(root + "/"))) throw new Errno(ERRNO.ENOTCAPABLE);
  return { guest, grant: dir.grant };
}

/**
 * Maps an absolute guest path to its host path, refusing (ENOTCAPABLE) one that leaves every grant
 * or escapes through a symlink, and (EROFS) a write under a directory granted read-only.
 * Live only: it looks at the disk.
 */
export function hostPath(grants: Grants, guest: string, write: boolean): string {
  let resolved;
  try {
    resolved = resolveGuestPath(grants, guest, false);
  } catch (err) {
    throw toWasiError(err, guest);
  }
  if (write && resolved.grant.readonly) throw new WasiError("EROFS", `'${guest}' is in a directory granted read-only (:ro)`);
  return resolved.host;
}

/** True when `guest` is a granted directory itself (which the guest may not remove or rename). */
export function isGrantRoot(grants: Grants, guest: string): boolean {
  return grants.dirs.some((g) => g.guest === guest);
}
