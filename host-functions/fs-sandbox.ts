import { posix } from "node:path";
import { GuestVisibleError } from "../engine/kernel/errors.js";
import type { DirGrant, Grants } from "../engine/kernel/grants.js";
import { checkPathLength, ConfinedRoot } from "./confined-root.js";
import { FsError, fsErrorOf, shown } from "./fs-error.js";

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
 * Refusals are FsErrors: ENOTCAPABLE outside every grant, EROFS for a write under a `:ro` grant.
 */
export function resolveGuestPath(grants: Grants, path: string, write: boolean): ResolvedPath {
  checkPathLength(path);
  const first = grants.dirs[0];
  if (!first) throw new FsError("ENOTCAPABLE", `no directory was granted, so '${shown(path)}' is out of reach; run with --dir HOST:GUEST`);
  const guest = posix.normalize(path.startsWith("/") ? path : posix.join(first.guest, path));
  let best: DirGrant | undefined;
  for (const g of grants.dirs) {
    const inside = guest === g.guest || g.guest === "/" || guest.startsWith(g.guest + "/");
    if (inside && (!best || g.guest.length > best.guest.length)) best = g;
  }
  if (!best) throw new FsError("ENOTCAPABLE", `'${shown(path)}' is outside every granted directory`);
  if (write && best.readonly) throw new FsError("EROFS", `'${shown(path)}' is in a read-only directory (granted with :ro)`);
  const rel = posix.relative(best.guest, guest);
  return { grant: best, root: rootOf(best), rel, guest };
}

/**
 * What a file operation of the dwe ABI threw, as the ABI's guest-visible error: an FsError or a
 * kernel error by FS_ERRORS' `abi` code (fs-error.ts, the one mapping), another refusal of the ABI
 * as it is, anything else `io`.
 */
export function fsError(err: unknown, path: string): GuestVisibleError {
  if (err instanceof GuestVisibleError && !(err instanceof FsError)) return err;
  if (!(err instanceof FsError) && typeof (err as NodeJS.ErrnoException | null)?.code !== "string")
    return new GuestVisibleError("io", `'${shown(path)}': ${(err as Error).message}`);
  const e = fsErrorOf(err, path);
  return new GuestVisibleError(e.abi, e.message);
}

/** Runs a file operation of the dwe ABI, its errors made guest-visible by `fsError`. */
export function abiFs<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fsError(err, path);
  }
}
