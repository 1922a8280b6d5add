// Guest paths as text (no disk access): shared by preview1 (paths.ts) and wasi:filesystem, whose
// guest side runs in the component's thread and loads nothing of the host's file system.
import { posix } from "node:path";
import { MAX_PATH_BYTES } from "../path-limits.js";
import { Errno, ERRNO } from "./errno.js";

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
