import { linkSync, lstatSync, readlinkSync, symlinkSync } from "node:fs";
import { ConfinedRoot } from "../confined-root.js";
import { posix } from "node:path";
import type { HostFunction } from "../../engine/kernel/host-function.js";
import { RequestFields } from "../request-fields.js";
import { FsError, fsErrorOf } from "../fs-error.js";
import { FSTFLAGS } from "./constants.js";
import { confinedPath } from "./paths.js";
import type { Grants } from "../../engine/kernel/grants.js";
import { nodeChildProcess } from "../../engine/kernel/node-modules.js";
import type { WasiState } from "./state.js";

/**
 * The live side of WASI symlinks, hard links and file times. Links stay inside the grant: a
 * symlink's content must name a place inside the grant of the directory it is made in (checked
 * as text, relative to the link: an absolute target or one that climbs out is ENOTCAPABLE), and
 * following any symlink is confined again by every path check (paths.ts), so a link planted by
 * someone else leads nowhere either. A hard link can only name a file already inside a grant.
 */

/** Whether the name `guest` exists (a dangling symlink does), looked up confined. */
function exists(grants: Grants, guest: string): boolean {
  try {
    const { root, rel } = confinedPath(grants, guest, false);
    return root.statOrNull(rel, false) !== null;
  } catch {
    return false;
  }
}

/** A `/proc/self/fd/…` path of this process as another process (touch) can open it. */
function forChild(path: string): string {
  return path.replace(/^\/proc\/self\//, `/proc/${process.pid}/`);
}

function io<T>(guest: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fsErrorOf(err, guest);
  }
}

/** The grant root (guest path) that `guest` is under: the longest granted prefix. */
function rootOf(grants: Grants, guest: string): string | undefined {
  let best: string | undefined;
  for (const g of grants.dirs) {
    const inside = guest === g.guest || g.guest === "/" || guest.startsWith(g.guest + "/");
    if (inside && (best === undefined || g.guest.length > best.length)) best = g.guest;
  }
  return best;
}

/** Refuses symlink content that would lead out of the grant the link is made in. */
export function checkSymlinkTarget(grants: Grants, link: string, target: string): void {
  if (target === "" || target.includes("\0")) throw new FsError("EINVAL", "a symlink needs a target without NUL bytes");
  if (target.startsWith("/")) throw new FsError("ENOTCAPABLE", `symlink '${link}' -> '${target}': an absolute target leaves the grant`);
  const root = rootOf(grants, link.replace(/\/+$/, ""));
  if (root === undefined) throw new FsError("ENOTCAPABLE", `'${link}' is outside every granted directory`);
  // Walk the target from the link's directory, component by component, as the OS would.
  const stack = posix
    .relative(root, posix.dirname(link))
    .split("/")
    .filter((c) => c !== "");
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (stack.length === 0) throw new FsError("ENOTCAPABLE", `symlink '${link}' -> '${target}' leads out of its granted directory`);
      stack.pop();
    } else stack.push(c);
  }
}

interface TimesReq {
  /** Host-side target: a guest path (path_…) or a guest fd (fd_…). */
  path: string;
  fd: number;
  follow: boolean;
  atim: bigint;
  mtim: bigint;
  flags: number;
}

function existsHost(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function seconds(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  return `@${s}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
}

/**
 * Sets a file's times to the nanosecond. Node's utimes takes a double of seconds (about 240 ns of
 * precision today) and cannot leave one time unchanged, so this runs coreutils' `touch` (no shell),
 * which uses utimensat with UTIME_OMIT and UTIME_NOW. `path` is already confined.
 */
function setTimes(guest: string, path: string, follow: boolean, atim: bigint, mtim: bigint, flags: number): void {
  const run = (which: "-a" | "-m", ns: bigint | null) => {
    const args = ["-c", which, ...(follow ? [] : ["-h"]), ...(ns === null ? [] : ["-d", seconds(ns)]), "--", path];
    const r = nodeChildProcess().spawnSync("touch", args, { encoding: "utf8", timeout: 10_000 });
    if (r.error) throw new FsError("EIO", `'${guest}': cannot set its times (${r.error.message})`);
    if (r.status !== 0) {
      if (!existsHost(path)) throw new FsError("ENOENT", `'${guest}' does not exist`);
      throw new FsError(/Permission denied/.test(r.stderr) ? "EACCES" : "EIO", `'${guest}': ${r.stderr.trim()}`);
    }
  };
  if (!existsHost(path)) lstatSync(path); // ENOENT/ENOTDIR as the OS says it
  if (flags & FSTFLAGS.ATIM) run("-a", atim);
  else if (flags & FSTFLAGS.ATIM_NOW) run("-a", null);
  if (flags & FSTFLAGS.MTIM) run("-m", mtim);
  else if (flags & FSTFLAGS.MTIM_NOW) run("-m", null);
}

/**
 * The path-based calls (also the host side of wasi:filesystem's symlink-at, readlink-at, link-at
 * and set-times-at, under `p2:` names): requests name absolute guest paths, confined here.
 */
export const pathLinkFunctions: HostFunction<never>[] = (() => {
  /** `wasi.path_symlink`: an effect; done after a crash if the link was not there before and is now. */
  const pathSymlink: HostFunction<{ target: string; path: string }> = {
    name: "wasi.path_symlink",
    kind: "effect",
    parse(r) {
      const f = new RequestFields("wasi.path_symlink", r);
      return { target: f.str("target"), path: f.str("path") };
    },
    intent: (ctx, req) => ({ existed: exists(ctx.grants, req.path) }),
    recover(ctx, req, intent) {
      const existed = (intent as { existed?: unknown } | null)?.existed;
      return existed === false && exists(ctx.grants, req.path) ? { done: undefined } : "redo";
    },
    perform(ctx, req) {
      checkSymlinkTarget(ctx.grants, req.path, req.target);
      const { root, rel } = confinedPath(ctx.grants, req.path, true);
      io(req.path, () => root.at(rel, (p) => symlinkSync(req.target, p), { nameOnly: true }));
      return undefined;
    },
  };

  /** `wasi.path_readlink`: a read; the symlink's whole content (the import cuts it to the buffer). */
  const pathReadlink: HostFunction<{ path: string }> = {
    name: "wasi.path_readlink",
    kind: "read",
    parse: (r) => ({ path: new RequestFields("wasi.path_readlink", r).str("path") }),
    perform(ctx, req) {
      const { root, rel } = confinedPath(ctx.grants, req.path, false);
      return io(req.path, () => root.at(rel, (p) => readlinkSync(p, { encoding: "buffer" })));
    },
  };

  /** `wasi.path_link`: a hard link; an effect, done after a crash if the new name was not there and is now. */
  const pathLink: HostFunction<{ from: string; to: string }> = {
    name: "wasi.path_link",
    kind: "effect",
    parse(r) {
      const f = new RequestFields("wasi.path_link", r);
      return { from: f.str("from"), to: f.str("to") };
    },
    intent: (ctx, req) => ({ existed: exists(ctx.grants, req.to) }),
    recover(ctx, req, intent) {
      const existed = (intent as { existed?: unknown } | null)?.existed;
      return existed === false && exists(ctx.grants, req.to) ? { done: undefined } : "redo";
    },
    perform(ctx, req) {
      const from = confinedPath(ctx.grants, req.from, true);
      const to = confinedPath(ctx.grants, req.to, true);
      // link(2) resolves a trailing slash on its old name (not on its new one), so only the new
      // one goes to the kernel as it is.
      io(req.from, () => ConfinedRoot.atBoth(from.root, from.rel, to.root, to.rel, linkSync, { a: false, b: true }));
      return undefined;
    },
  };

  /** `wasi.path_filestat_set_times`: an effect, idempotent (setting the same times again), redone after a crash. */
  const pathSetTimes: HostFunction<TimesReq> = {
    name: "wasi.path_filestat_set_times",
    kind: "effect",
    parse: timesReq("wasi.path_filestat_set_times"),
    perform(ctx, req) {
      const { root, rel } = confinedPath(ctx.grants, req.path, true);
      // The confined walk resolves the directories; touch acts on the name (a final symlink is
      // followed, confined, only with follow).
      io(req.path, () =>
        root.at(rel, (p) => setTimes(req.path, forChild(p), false, req.atim, req.mtim, req.flags), { follow: req.follow }),
      );
      return undefined;
    },
  };

  return [pathSymlink, pathReadlink, pathLink, pathSetTimes] as HostFunction<never>[];
})();

function timesReq(op: string): (r: unknown) => TimesReq {
  return (r) => {
    const f = new RequestFields(op, r);
    return {
      path: f.optStr("path") ?? "",
      fd: f.optUint("fd") ?? -1,
      follow: f.bool("follow"),
      atim: BigInt(f.str("atim")),
      mtim: BigInt(f.str("mtim")),
      flags: f.uint("flags"),
    };
  };
}

/** The preview1 calls: the path-based ones, and fd_filestat_set_times on the run's fd table. */
export function linkFunctions(state: WasiState): HostFunction<never>[] {
  const { grants, table, handles } = state;

  /** `wasi.fd_filestat_set_times`: as above, on the file the fd has open (through /proc, so a rename does not matter). */
  const fdSetTimes: HostFunction<TimesReq> = {
    name: "wasi.fd_filestat_set_times",
    kind: "effect",
    parse: timesReq("wasi.fd_filestat_set_times"),
    perform(_ctx, req) {
      const e = table.get(req.fd);
      if (!e || (e.kind !== "file" && e.kind !== "dir")) throw new FsError("EBADF", `fd ${req.fd} is not an open file or directory`);
      if (e.grant >= 0 && grants.dirs[e.grant]?.readonly)
        throw new FsError("EROFS", `'${e.guest}' is in a directory granted read-only (:ro)`);
      if (e.kind === "file") {
        setTimes(
          e.guest,
          `/proc/${process.pid}/fd/${handles.get(req.fd, e, e.read ? "read" : "write")}`,
          true,
          req.atim,
          req.mtim,
          req.flags,
        );
        return undefined;
      }
      const { root, rel } = confinedPath(grants, e.guest, true);
      io(e.guest, () => root.at(rel, (p) => setTimes(e.guest, forChild(p), false, req.atim, req.mtim, req.flags)));
      return undefined;
    },
  };

  return [...pathLinkFunctions, fdSetTimes as HostFunction<never>];
}
