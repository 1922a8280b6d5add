/**
 * The one confined file-system layer of dwe: the dwe ABI's `fs.*`, WASI preview1 and the
 * component filesystem all reach the disk through `ConfinedRoot`, so a guest path can never name
 * a file outside its grant, whatever races with the lookup.
 *
 * Design (the technique of cap-std and wasmtime, on Node 20 without `openat`):
 * - The walk starts at a descriptor of the grant's root, opened afresh for each operation, and
 *   goes one component at a time: `/proc/self/fd/<dirfd>/<name>` opened with O_NOFOLLOW and
 *   O_DIRECTORY. The kernel follows the `/proc` magic link to the very directory the descriptor
 *   holds, so no path is ever looked up twice and there is no window between check and use: a
 *   directory swapped for a symlink after we opened it changes nothing, one swapped before makes
 *   the open fail with ELOOP, and we read that link ourselves.
 * - Symlinks are resolved here, never by the kernel: a relative target continues the walk from
 *   the directory holding the link, an absolute target only when it names a place inside the
 *   grant's root (it restarts at the root), and `..` may climb back only as far as the root.
 *   At most MAX_SYMLINK_HOPS links per operation (ELOOP after that).
 * - `..` opens `<dirfd>/..` and checks that it is the directory the walk came through (device and
 *   inode recorded on the way down); a directory moved away meanwhile fails the call instead of
 *   leading somewhere else.
 * - The operation itself acts on the last component through `/proc/self/fd/<parentfd>/<name>`:
 *   unlink, rename, mkdir, lstat, utimes and readlink never follow a final symlink; `open` uses
 *   O_NOFOLLOW (and follows a final link itself when asked to), O_NONBLOCK (a FIFO cannot block
 *   the open) and O_NOCTTY, then checks the opened file's type with fstat.
 * - Nothing is cached across operations (a cached descriptor or real path could go stale in a
 *   race); an operation holds at most three descriptors of its own and closes them before it
 *   returns. Cost is linear in the path: paths are capped at MAX_PATH_BYTES (ENAMETOOLONG).
 * Linux only (it needs /proc/self/fd).
 *
 * Use (`root` from a grant, `rel` relative to it):
 *   read/write a file   root.withOpen(rel, O_RDONLY, { follow: true, type: "file" }, (fd) => …)
 *   list a directory    root.withOpen(rel, O_RDONLY, { follow: true, type: "dir" }, (fd) => readdirSync(fdPath(fd)))
 *   stat / lstat        root.stat(rel, follow)
 *   unlink, mkdir, rmdir, readlink, symlink(any target: it is never followed out), lutimes
 *                       root.at(rel, (p) => unlinkSync(p))   (`link/` resolves the link: see `at`)
 *   utimes following    root.at(rel, (p) => lutimesSync(p, a, m), { follow: true })
 *   rename              ConfinedRoot.atBoth(rootA, relA, rootB, relB, renameSync, { a: true, b: true })
 *   (a trailing `/` on rel: see `at`; calls that act on a name only pass `nameOnly`)
 * Errors: Node's (ENOENT, ELOOP, ENOTDIR…, from the kernel) or FsError (fs-error.ts: each ABI
 * reads its own code from it); `fsErrorOf` turns either into an FsError.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  unlinkSync,
  type BigIntStats,
} from "node:fs";
import { FsError, shown } from "./fs-error.js";
import { MAX_PATH_BYTES } from "./path-limits.js";

export { MAX_PATH_BYTES };
/** Symlinks followed in one lookup before it fails with ELOOP (Linux's MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
const DIR_STEP = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Deepest directory tree `remove` empties (it holds one descriptor per level while it works). */
export const MAX_REMOVE_DEPTH = 128;

/** What the final component of an `open` must be; anything else (FIFO, socket, device) is refused. */
export type OpenType = "file" | "dir" | "file-or-dir";

/** The `/proc` path of a descriptor, or of `name` in the directory it holds. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** Returned by a final step that found a symlink it was told to follow. */
const IS_LINK: unique symbol = Symbol("symlink");
type Final<T> = (dirFd: number, name: string) => T | typeof IS_LINK;

/** The kernel's errno of a Node error; none for a refusal of this layer (an FsError). */
function errnoOf(err: unknown): string | undefined {
  return err instanceof FsError ? undefined : (err as NodeJS.ErrnoException | null)?.code;
}

function close(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function kindOf(s: BigIntStats): string {
  if (s.isFIFO()) return "a FIFO";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice() || s.isBlockDevice()) return "a device";
  if (s.isDirectory()) return "a directory";
  if (s.isSymbolicLink()) return "a symlink";
  return "not a regular file";
}

/** Whether `rel` ends with `/` or `/.`: it names a directory (`""` and `"."` are the root). */
function endsWithSlash(rel: string): boolean {
  return /\/\.?$/.test(rel);
}

/**
 * Refuses a path over MAX_PATH_BYTES (before any work proportional to it) or with a NUL byte.
 * `what` names it in the message. Cheap enough to call on every guest path.
 */
export function checkPathLength(path: string, what = `'${shown(path)}'`): void {
  // n UTF-16 units are at least n UTF-8 bytes: a huge path is refused without encoding it.
  if (path.length > MAX_PATH_BYTES || (path.length > MAX_PATH_BYTES / 3 && Buffer.byteLength(path) > MAX_PATH_BYTES)) {
    throw new FsError("ENAMETOOLONG", `${what} is longer than ${MAX_PATH_BYTES} bytes; use a shorter path`);
  }
  if (path.includes("\0")) throw new FsError("EINVAL", `${what} contains a NUL byte`);
}

/**
 * A granted host directory, through which every file operation of a guest is confined. `rel`
 * arguments are paths relative to the root (`""` or `"."` is the root itself; `/` separates;
 * `..` is allowed but never climbs above the root). Cheap to make: it holds no descriptor.
 */
export class ConfinedRoot {
  constructor(
    /** The granted host directory (trusted: chosen by the user). */
    readonly host: string,
    /** The guest path it appears at, for messages. */
    readonly guest: string,
  ) {}

  /**
   * Opens `rel` and returns the host descriptor (the caller closes it). `flags` are open(2)
   * flags (O_NOFOLLOW, O_NONBLOCK and O_NOCTTY are added); with `follow` a final symlink is
   * followed (confined), without it an open of a symlink fails with ELOOP (ENOTDIR for a
   * `type: "dir"` open, as Linux answers O_DIRECTORY|O_NOFOLLOW). A trailing `/` asks for a
   * directory and follows a final symlink, as POSIX resolves `link/`. The opened file must be of
   * `type`; a FIFO, socket or device never is.
   */
  open(rel: string, flags: number, opts: { follow: boolean; type: OpenType; mode?: number }): number {
    const slash = endsWithSlash(rel);
    const wantDir = opts.type === "dir" || slash;
    const follow = opts.follow || slash;
    const all = flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (wantDir ? O_DIRECTORY : 0);
    return this.walk(rel, follow, (dir, name) => {
      let fd: number;
      try {
        fd = openSync(fdPath(dir, name), all, opts.mode ?? 0o666);
      } catch (err) {
        const code = errnoOf(err);
        // ELOOP: the final component is a symlink (O_NOFOLLOW). With O_CREAT|O_EXCL the kernel
        // answers EEXIST for a symlink instead, as POSIX asks.
        if (code === "ELOOP" && follow) return IS_LINK;
        // With O_DIRECTORY, Linux answers ENOTDIR (not ELOOP) for a symlink, even one to a directory.
        if (code === "ENOTDIR" && wantDir && follow && lstatSync(fdPath(dir, name)).isSymbolicLink()) return IS_LINK;
        // ENXIO: a FIFO without a reader opened for writing, or a socket.
        if (code === "ENXIO") throw this.notRegular(rel, "a FIFO or socket");
        throw err;
      }
      try {
        this.checkType(rel, fstatSync(fd, { bigint: true }), opts.type);
      } catch (err) {
        close(fd);
        throw err;
      }
      return fd;
    });
  }

  /** Runs `fn(fd)` on `rel` opened as `open` does, and closes the descriptor afterwards. */
  withOpen<T>(rel: string, flags: number, opts: { follow: boolean; type: OpenType; mode?: number }, fn: (fd: number) => T): T {
    const fd = this.open(rel, flags, opts);
    try {
      return fn(fd);
    } finally {
      close(fd);
    }
  }

  /** stat (`follow`, or a trailing `/`: then it must be a directory) or lstat of `rel`. */
  stat(rel: string, follow: boolean): BigIntStats {
    const slash = endsWithSlash(rel);
    const deref = follow || slash;
    return this.walk(rel, deref, (dir, name) => {
      const s = lstatSync(fdPath(dir, name), { bigint: true });
      if (deref && s.isSymbolicLink()) return IS_LINK;
      if (slash && !s.isDirectory()) throw this.notDir(rel);
      return s;
    });
  }

  /** lstat of `rel`, or null when it does not exist (ENOENT or ENOTDIR on the way). */
  statOrNull(rel: string, follow: boolean): BigIntStats | null {
    try {
      return this.stat(rel, follow);
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw err;
    }
  }

  /**
   * Runs `fn` on the last component of `rel`, named by a path valid only during `fn`:
   * `/proc/self/fd/<parent>/<name>`. For unlink, rmdir, mkdir, rename, lstat, readlink, symlink,
   * lutimes. The root itself is `/proc/self/fd/<root>/.`. Without `follow` a final symlink is
   * what `fn` gets; with it, final symlinks are followed (confined) first, and `fn` must still
   * not follow one itself (`lutimesSync`, not `utimesSync`): a race may put one back.
   *
   * A trailing `/` (or `/.`) on `rel` asks for a directory. With `nameOnly`, `fn` gets the path
   * with the slash and the kernel answers as for any path (`file/` ENOTDIR, `new/` ENOENT for
   * symlink and link, EEXIST for an existing name): only for calls that never resolve their last
   * component even with a trailing slash (unlink, rmdir, mkdir, symlink, rename, link's new name),
   * or the kernel would follow a final symlink out of the grant. Without it, the path is resolved
   * as POSIX resolves `name/`: a final symlink is followed (confined) even without `follow`, and
   * what it ends at must be a directory, else ENOTDIR (a dangling link is ENOENT); `fn` gets the
   * path without the slash. So readlink of `link/` is EINVAL (a directory is not a symlink) and
   * set-times of `link/` sets the directory's times, as on Linux and under wasmtime.
   */
  at<T>(rel: string, fn: (path: string) => T, opts: { follow?: boolean; nameOnly?: boolean } = {}): T {
    const slash = endsWithSlash(rel);
    const follow = (opts.follow ?? false) || (slash && !opts.nameOnly);
    return this.walk(rel, follow, (dir, name) => {
      const path = fdPath(dir, name);
      if (name === ".") return fn(path);
      if (slash && opts.nameOnly) return fn(`${path}/`);
      if (!follow) return fn(path);
      const s = lstatSync(path);
      if (s.isSymbolicLink()) return IS_LINK;
      if (slash && !s.isDirectory()) throw this.notDir(rel);
      return fn(path);
    });
  }

  /**
   * Removes `rel`: a file or symlink (never followed), or with `recursive` a directory and all in
   * it. The tree is walked through descriptors, so a directory swapped for a symlink while it is
   * being emptied is unlinked as a link, never followed (the TOCTOU of a path-based `rm -r`).
   */
  remove(rel: string, recursive: boolean): void {
    // A name, never resolved: `dir/` must be a directory itself (a symlink `link/` is ENOTDIR).
    const slash = endsWithSlash(rel);
    this.at(slash ? rel.replace(/(\/\.?)+$/, "") || "." : rel, (path) => {
      const isDir = lstatSync(path).isDirectory();
      if (slash && !isDir) throw this.notDir(rel);
      if (!isDir) return unlinkSync(path);
      if (!recursive) throw new FsError("EISDIR", `'${this.guestPath(rel)}' is a directory; remove it with recursive`);
      this.empty(rel, path);
      rmdirSync(path);
    });
  }

  /** Empties the directory at `path` (a `/proc` path), depth first, one descriptor per level. */
  private empty(rel: string, path: string): void {
    const stack: { fd: number; names: string[]; name: string }[] = [];
    const enter = (at: string, name: string) => {
      if (stack.length >= MAX_REMOVE_DEPTH)
        throw new FsError("EIO", `'${this.guestPath(rel)}' is more than ${MAX_REMOVE_DEPTH} directories deep; remove it in parts`);
      const fd = openSync(at, DIR_STEP);
      try {
        stack.push({ fd, names: readdirSync(fdPath(fd)), name });
      } catch (err) {
        close(fd);
        throw err;
      }
    };
    try {
      enter(path, "");
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const name = top.names.pop();
        if (name === undefined) {
          close(top.fd);
          stack.pop();
          const parent = stack[stack.length - 1];
          if (parent) rmdirSync(fdPath(parent.fd, top.name));
          continue;
        }
        const entry = fdPath(top.fd, name);
        if (lstatSync(entry).isDirectory()) enter(entry, name);
        else unlinkSync(entry);
      }
    } finally {
      for (const f of stack) close(f.fd);
    }
  }

  /**
   * `at` for two paths at once (rename, link), each confined to its own root. `nameOnly` as for
   * `at`, for each path: rename acts on both names, link on its new name only (its old one, with
   * a trailing slash, is resolved by the kernel).
   */
  static atBoth<T>(
    a: ConfinedRoot,
    relA: string,
    b: ConfinedRoot,
    relB: string,
    fn: (pathA: string, pathB: string) => T,
    nameOnly: { a: boolean; b: boolean } = { a: false, b: false },
  ): T {
    return a.at(relA, (pa) => b.at(relB, (pb) => fn(pa, pb), { nameOnly: nameOnly.b }), { nameOnly: nameOnly.a });
  }

  /** The guest path of `rel`, for messages. */
  guestPath(rel: string): string {
    if (rel === "" || rel === ".") return this.guest;
    return shown(this.guest === "/" ? `/${rel}` : `${this.guest}/${rel}`);
  }

  private checkType(rel: string, s: BigIntStats, type: OpenType): void {
    if (s.isFile()) {
      if (type === "dir") throw this.notDir(rel);
      return;
    }
    if (s.isDirectory()) {
      if (type === "file") throw new FsError("EISDIR", `'${this.guestPath(rel)}' is a directory`);
      return;
    }
    throw this.notRegular(rel, kindOf(s));
  }

  private notDir(rel: string): FsError {
    return new FsError("ENOTDIR", `'${this.guestPath(rel)}' is not a directory`);
  }

  private notRegular(rel: string, what: string): FsError {
    return new FsError("ENOTSUP", `'${this.guestPath(rel)}' is ${what}, not a regular file or directory; dwe opens only those`);
  }

  private escape(rel: string, why: string): FsError {
    return new FsError("ENOTCAPABLE", `'${this.guestPath(rel)}' leads outside its granted directory (${why})`);
  }

  /**
   * Walks `rel` from the root to the directory holding its last component and calls `final`
   * there. `final` answers IS_LINK when that component is a symlink to follow (only when
   * `follow`); the walk then reads the link and goes on with its target. Empty and `.`
   * components are skipped (`open` and `stat` look at a trailing `/` themselves).
   */
  private walk<T>(rel: string, follow: boolean, final: Final<T>): T {
    checkPathLength(rel, `'${this.guestPath(rel)}'`);
    /** Components still to visit, the next one last: linear to build and to consume. */
    const todo: string[] = [];
    const queue = (path: string) => {
      const parts = path.split("/");
      for (let i = parts.length - 1; i >= 0; i--) if (parts[i] !== "" && parts[i] !== ".") todo.push(parts[i]!);
    };
    queue(rel);
    let root: number;
    try {
      root = openSync(this.host, O_RDONLY | O_DIRECTORY);
    } catch (err) {
      if (errnoOf(err) === "ENOENT" || errnoOf(err) === "ENOTDIR")
        throw new FsError("ENOENT", `granted directory ${this.guest} does not exist on the host`);
      throw err;
    }
    let cur = root;
    /** Identities (device, inode) of the directories from depth 1 down to `cur`, for `..`. */
    const below: BigIntStats[] = [];
    let rootId: BigIntStats | null = null;
    let hops = 0;
    const toRoot = () => {
      if (cur !== root) close(cur);
      cur = root;
      below.length = 0;
    };
    /**
     * Reads the symlink `name` in `cur` and queues its target; false when it is no longer a
     * symlink (a race swapped it back), so the caller looks again. Every look counts as a hop,
     * so a racing renamer cannot keep a lookup going for ever.
     */
    const followLink = (name: string): boolean => {
      if (++hops > MAX_SYMLINK_HOPS) throw new FsError("ELOOP", `'${this.guestPath(rel)}': more than ${MAX_SYMLINK_HOPS} symlinks`);
      let target: string;
      try {
        target = readlinkSync(fdPath(cur, name));
      } catch (err) {
        if (errnoOf(err) === "EINVAL") return false;
        throw err;
      }
      checkPathLength(target, `the target of a symlink in '${this.guestPath(rel)}'`);
      if (target.startsWith("/")) {
        // Only a target inside the root's real path can be followed, from the root's descriptor.
        const real = realpathSync(this.host);
        const inside = target === real || target.startsWith(real.endsWith("/") ? real : `${real}/`);
        if (!inside) throw this.escape(rel, "through a symlink to an absolute path");
        target = target.slice(real.length);
        toRoot();
      }
      queue(target);
      return true;
    };
    try {
      for (;;) {
        const name = todo.pop();
        if (name === undefined) {
          const r = final(cur, ".");
          if (r === IS_LINK) throw new Error("internal: '.' taken for a symlink");
          return r;
        }
        if (name === "..") {
          if (below.length === 0) throw this.escape(rel, "'..' above it");
          const expected = below.length >= 2 ? below[below.length - 2]! : (rootId ??= fstatSync(root, { bigint: true }));
          const up = openSync(fdPath(cur, ".."), DIR_STEP);
          if (!sameFile(fstatSync(up, { bigint: true }), expected)) {
            close(up);
            throw new FsError("EIO", `'${this.guestPath(rel)}': a directory moved while the path was looked up; try again`);
          }
          below.pop();
          if (below.length === 0) {
            close(up);
            toRoot();
          } else {
            close(cur);
            cur = up;
          }
          continue;
        }
        if (todo.length === 0) {
          const r = final(cur, name);
          if (r !== IS_LINK) return r;
          if (!followLink(name)) todo.push(name);
          continue;
        }
        let next: number;
        try {
          next = openSync(fdPath(cur, name), DIR_STEP);
        } catch (err) {
          const code = errnoOf(err);
          if (code !== "ELOOP" && code !== "ENOTDIR") throw err;
          if (followLink(name)) continue;
          if (code === "ENOTDIR") throw err;
          todo.push(name);
          continue;
        }
        try {
          below.push(fstatSync(next, { bigint: true }));
        } catch (err) {
          close(next);
          throw err;
        }
        if (cur !== root) close(cur);
        cur = next;
      }
    } finally {
      if (cur !== root) close(cur);
      close(root);
    }
  }
}
