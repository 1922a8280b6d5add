import { posix } from "node:path";
import { GuestVisibleError } from "../engine/kernel/errors.js";
import type { DirGrant, Grants } from "../engine/kernel/grants.js";
import { checkPathLength, ConfinedRoot, shown } from "./confined-root.js";

export interface ResolvedPath {
  grant: DirGrant;
  /** The grant's root, through which every operation on the path goes (confined-root.ts). */
  root: ConfinedRoot;
  /** The path relative to the grant's root ("" for the root itself). */
  rel: string;
  /** Normalized guest path. */
  guest: string;
}

/** The confined root of a grant. */
export function rootOf(grant: DirGrant): ConfinedRoot {
  return new ConfinedRoot(grant.host, grant.guest);
}

/**
 * Maps a guest path into the granted directory that covers it. `..` is resolved textually first,
 * so `/data/../etc` is `/etc` and matches no grant. Relative paths are taken from the first grant.
 * No disk access: symlinks are resolved, confined, by the ConfinedRoot when the path is used.
 */
export function resolveGuestPath(grants: Grants, path: string, write: boolean): ResolvedPath {
  checkPathLength(path);
  const first = grants.dirs[0];
  if (!first)
    throw new GuestVisibleError("denied", `no directory was granted, so '${shown(path)}' is out of reach; run with --dir HOST:GUEST`);
  const guest = posix.normalize(path.startsWith("/") ? path : posix.join(first.guest, path));
  let best: DirGrant | undefined;
  for (const g of grants.dirs) {
    const inside = guest === g.guest || g.guest === "/" || guest.startsWith(g.guest + "/");
    if (inside && (!best || g.guest.length > best.guest.length)) best = g;
  }
  if (!best) throw new GuestVisibleError("denied", `'${shown(path)}' is outside every granted directory`);
  if (write && best.readonly) throw new GuestVisibleError("denied", `'${shown(path)}' is in a read-only directory (granted with :ro)`);
  const rel = posix.relative(best.guest, guest);
  return { grant: best, root: rootOf(best), rel, guest };
}

/** Maps Node's errno codes to the guest-visible error codes of the ABI. */
export function fsError(err: unknown, path: string): GuestVisibleError {
  if (err instanceof GuestVisibleError) return err;
  const e = err as NodeJS.ErrnoException;
  const p = shown(path);
  switch (e.code) {
    case "ENOENT":
      return new GuestVisibleError("not_found", `'${p}' does not exist`);
    case "ENOTDIR":
      return new GuestVisibleError("invalid", `'${p}' is not a directory, or a part of its path is not`);
    case "EACCES":
    case "EPERM":
      return new GuestVisibleError("denied", `the host refused access to '${p}'`);
    case "EISDIR":
      return new GuestVisibleError("invalid", `'${p}' is a directory`);
    case "ENAMETOOLONG":
      return new GuestVisibleError("invalid", `'${p}' has a name that is too long`);
    default:
      // Node's message names the /proc path it used; the guest gets the code only.
      return new GuestVisibleError("io", `'${p}': ${e.code ?? (err as Error).message}`);
  }
}
