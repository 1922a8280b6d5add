import { lstatSync, realpathSync } from "node:fs";
import { posix, join, sep, dirname } from "node:path";
import { GuestVisibleError } from "../engine/errors.js";
import type { DirGrant, Grants } from "../engine/executor/grants.js";

export interface ResolvedPath {
  grant: DirGrant;
  /** Absolute host path (not yet checked for symlinks; see `confine`). */
  host: string;
  /** Normalized guest path. */
  guest: string;
}

/**
 * Maps a guest path to a host path inside a granted directory. `..` is resolved textually first,
 * so `/data/../etc` is `/etc` and matches no grant. Relative paths are taken from the first grant.
 */
export function resolveGuestPath(grants: Grants, path: string, write: boolean): ResolvedPath {
  if (path.includes("\0")) throw new GuestVisibleError("invalid", "path contains a NUL byte");
  const first = grants.dirs[0];
  if (!first) throw new GuestVisibleError("denied", `no directory was granted, so '${path}' is out of reach; run with --dir HOST:GUEST`);
  const guest = posix.normalize(path.startsWith("/") ? path : posix.join(first.guest, path));
  let best: DirGrant | undefined;
  for (const g of grants.dirs) {
    const inside = guest === g.guest || g.guest === "/" || guest.startsWith(g.guest + "/");
    if (inside && (!best || g.guest.length > best.guest.length)) best = g;
  }
  if (!best) throw new GuestVisibleError("denied", `'${path}' is outside every granted directory`);
  if (write && best.readonly) throw new GuestVisibleError("denied", `'${path}' is in a read-only directory (granted with :ro)`);
  const rel = posix.relative(best.guest, guest);
  const host = rel === "" ? best.host : join(best.host, ...rel.split("/"));
  confine(best, host, path);
  return { grant: best, host, guest };
}

/**
 * Refuses a host path that, after following symlinks, leaves its grant. The deepest existing
 * ancestor is resolved, so a path being created through a symlinked directory is caught too.
 */
export function confine(grant: DirGrant, host: string, guestPath: string): void {
  let root: string;
  try {
    root = realpathSync(grant.host);
  } catch {
    throw new GuestVisibleError("not_found", `granted directory ${grant.guest} does not exist on the host`);
  }
  let probe = host;
  for (;;) {
    try {
      const real = realpathSync(probe);
      if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep)) {
        throw new GuestVisibleError("denied", `'${guestPath}' leads outside its granted directory (through a symlink)`);
      }
      return;
    } catch (err) {
      if (err instanceof GuestVisibleError) throw err;
      if (isLink(probe)) throw new GuestVisibleError("denied", `'${guestPath}' goes through a dangling symlink`);
      const parent = dirname(probe);
      if (parent === probe) return;
      probe = parent;
    }
  }
}

/** Maps Node's errno codes to the guest-visible error codes of the ABI. */
export function fsError(err: unknown, path: string): GuestVisibleError {
  if (err instanceof GuestVisibleError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return new GuestVisibleError("not_found", `'${path}' does not exist`);
    case "EACCES":
    case "EPERM":
      return new GuestVisibleError("denied", `the host refused access to '${path}'`);
    default:
      return new GuestVisibleError("io", `'${path}': ${e.code ?? ""} ${e.message}`.trim());
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
