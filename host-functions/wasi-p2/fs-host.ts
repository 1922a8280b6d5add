import {
  constants,
  ftruncateSync,
  mkdirSync,
  readSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from "node:fs";
import type { Grants } from "../../engine/kernel/grants.js";
import type { EffectFunction, HostContext, HostFunction } from "../../engine/kernel/host-function.js";
import { RequestFields } from "../request-fields.js";
import { ConfinedRoot, fdPath } from "../confined-root.js";
import { FsError, fsErrorOf } from "../fs-error.js";
import { confinedPath, isGrantRoot, type Confined } from "../wasi/paths.js";

/**
 * The host side of wasi:filesystem for components: run by the Dispatcher on the engine's thread,
 * live only (a replay answers from the journal and never touches the disk). Paths are absolute
 * guest paths, mapped into the run's grants by host-functions/wasi/paths.ts and reached only
 * through the grant's ConfinedRoot (host-functions/confined-root.ts), like preview1; errors are
 * WASI errno names, as in preview1. Only regular files and directories are opened.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_TRUNC } = constants;

/** Largest read journaled as one entry. */
export const MAX_FILE_CHUNK = 1024 * 1024;

function typeOf(s: BigIntStats): string {
  if (s.isFile()) return "regular-file";
  if (s.isDirectory()) return "directory";
  if (s.isSymbolicLink()) return "symbolic-link";
  if (s.isFIFO()) return "fifo";
  if (s.isSocket()) return "socket";
  if (s.isCharacterDevice()) return "character-device";
  if (s.isBlockDevice()) return "block-device";
  return "unknown";
}

/** Runs `f`, turning what Node throws into the errno the guest sees. */
function host<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fsErrorOf(err, path);
  }
}

/**
 * The type of what `guest` names, or null when nothing is there: with `follow` what a final
 * symlink leads to (confined), else the name itself (a symlink, even a dangling or looping one).
 */
function typeAt(grants: Grants, guest: string, follow = true): string | null {
  const { root, rel } = confinedPath(grants, guest, false);
  return host(guest, () => {
    const s = root.statOrNull(rel, follow);
    return s === null ? null : typeOf(s);
  });
}

/** Whether the name `guest` exists; what it may point to is not looked at (unlink, rename, mkdir work on names). */
const nameAt = (grants: Grants, guest: string) => typeAt(grants, guest, false);

interface FsRequest {
  path: string;
  to: string;
  follow: boolean;
  dir: boolean;
  write: boolean;
  create: boolean;
  excl: boolean;
  trunc: boolean;
  size: number;
}

function fsRequest(name: string, r: unknown): FsRequest {
  const f = new RequestFields(name, r);
  return {
    path: f.str("path"),
    to: f.optStr("to") ?? "",
    follow: f.bool("follow"),
    dir: f.bool("dir"),
    write: f.bool("write"),
    create: f.bool("create"),
    excl: f.bool("excl"),
    trunc: f.bool("trunc"),
    size: f.optUint("size") ?? 0,
  };
}

/** Refuses to open a FIFO, socket or device (an open or read of one could block the host). */
function regularOrDirectory(path: string, type: string): void {
  if (type !== "regular-file" && type !== "directory")
    throw new FsError("ENOTSUP", `'${path}' is a ${type}, not a regular file or directory; dwe opens only those`);
}

/**
 * The type of an existing file or directory being opened, after checking what the open asks.
 * Without `follow` a final symlink is ELOOP (O_NOFOLLOW); a trailing slash asks for a directory.
 */
function openExisting(ctx: HostContext, req: FsRequest): { type: string } {
  const { root, rel } = confinedPath(ctx.grants, req.path, req.write);
  const slash = req.path.length > 1 && req.path.endsWith("/");
  const type = host(req.path, () => typeOf(root.stat(rel, req.follow || slash)));
  if (type === "symbolic-link") throw new FsError("ELOOP", `'${req.path}' is a symlink, opened without following it`);
  regularOrDirectory(req.path, type);
  if ((req.dir || slash) && type !== "directory") throw new FsError("ENOTDIR", `'${req.path}' is not a directory`);
  if (req.write && type === "directory") throw new FsError("EISDIR", `'${req.path}' is a directory`);
  return { type };
}

type FsOp = HostFunction<FsRequest>["name"];

const NAME_ONLY = { nameOnly: true } as const;

function fsFunction(
  name: FsOp,
  kind: "read" | "effect",
  perform: (ctx: HostContext, req: FsRequest, at: Confined) => unknown,
  recover?: EffectFunction<FsRequest>["recover"],
): HostFunction<FsRequest> {
  const parse = (r: unknown) => fsRequest(name, r);
  if (kind === "read")
    return { name, kind, parse, perform: (ctx, req) => perform(ctx, req, confinedPath(ctx.grants, req.path, req.write)) };
  return {
    name,
    kind,
    parse,
    perform: (ctx, req) => perform(ctx, req, confinedPath(ctx.grants, req.path, true)),
    intent: (ctx, req) => ({ existed: nameAt(ctx.grants, req.path) !== null }),
    ...(recover && { recover }),
  };
}

const existedBefore = (intent: unknown) => (intent as { existed?: boolean } | null)?.existed;

/**
 * The file-system calls of components, with the op codes of the preview1 calls of the same
 * meaning. Requests name absolute guest paths (a component's descriptors are paths, not fds).
 * Effects are idempotent on redo or recognized as done after a crash (`recover`), so an effect
 * in flight when the process died is not applied twice.
 */
export const p2FsFunctions: ReadonlyMap<string, HostFunction<FsRequest>> = new Map(
  [
    /** Open of an existing file or directory: changes nothing, a read. Result: `{type}`. */
    fsFunction("wasi.path_open", "read", (ctx, req) => openExisting(ctx, req)),
    /** Open with create/exclusive/truncate: an effect. Result: `{type}`. */
    fsFunction(
      "wasi.path_open_create",
      "effect",
      (ctx, req, { root, rel }) => {
        if (req.dir && req.create) throw new FsError("EINVAL", `'${req.path}': cannot create a directory with open`);
        const type = typeAt(ctx.grants, req.path);
        if (type !== null && req.excl) throw new FsError("EEXIST", `'${req.path}' exists`);
        if (type === null && !req.create) throw new FsError("ENOENT", `'${req.path}' does not exist`);
        if (type === "directory" && (req.trunc || req.write)) throw new FsError("EISDIR", `'${req.path}' is a directory`);
        if (type !== null) regularOrDirectory(req.path, type);
        const file = { follow: true, type: "file" } as const;
        if (type === null)
          host(req.path, () => root.withOpen(rel, O_WRONLY | O_CREAT | O_APPEND | (req.excl ? O_EXCL : 0), file, () => undefined));
        if (req.trunc) host(req.path, () => root.withOpen(rel, O_WRONLY | O_TRUNC, file, () => undefined));
        return { type: typeAt(ctx.grants, req.path) ?? "unknown" };
      },
      (ctx, req, intent) => {
        const type = typeAt(ctx.grants, req.path);
        return req.excl && existedBefore(intent) === false && type === "regular-file" ? { done: { type } } : "redo";
      },
    ),
    /** Stat of a path (a descriptor's own, or one under a directory). */
    fsFunction("wasi.path_filestat_get", "read", (_ctx, req, { root, rel }) => {
      const s = host(req.path, () => root.stat(rel, req.follow));
      return {
        dev: s.dev,
        ino: s.ino,
        type: typeOf(s),
        size: s.size,
        nlink: s.nlink,
        atime: s.atimeNs,
        mtime: s.mtimeNs,
        ctime: s.ctimeNs,
      };
    }),
    /** A whole directory listing, sorted by name. */
    fsFunction("wasi.fd_readdir", "read", (_ctx, req, { root, rel }) =>
      host(req.path, () =>
        root.withOpen(rel, O_RDONLY, { follow: true, type: "dir" }, (fd) => readdirSync(fdPath(fd), { withFileTypes: true })),
      )
        .map((d) => ({
          name: d.name,
          type: d.isFile() ? "regular-file" : d.isDirectory() ? "directory" : d.isSymbolicLink() ? "symbolic-link" : "unknown",
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ),
    fsFunction(
      "wasi.fd_filestat_set_size",
      "effect",
      (_ctx, req, { root, rel }) =>
        void host(req.path, () => root.withOpen(rel, O_WRONLY, { follow: true, type: "file" }, (fd) => ftruncateSync(fd, req.size))),
    ),
    fsFunction(
      "wasi.path_create_directory",
      "effect",
      // Name-only calls (mkdir, unlink, rmdir, rename): a trailing slash goes to the kernel, as in preview1.
      (_ctx, req, { root, rel }) => void host(req.path, () => root.at(rel, (p) => mkdirSync(p), NAME_ONLY)),
      (ctx, req, intent) =>
        existedBefore(intent) === false && nameAt(ctx.grants, req.path) === "directory" ? { done: undefined } : "redo",
    ),
    fsFunction(
      "wasi.path_unlink_file",
      "effect",
      (_ctx, req, { root, rel }) =>
        host(req.path, () =>
          // Linux's unlink answers EISDIR for a directory, with or without a trailing slash.
          root.at(rel, (p) => unlinkSync(p), NAME_ONLY),
        ),
      (ctx, req, intent) => (existedBefore(intent) === true && nameAt(ctx.grants, req.path) === null ? { done: undefined } : "redo"),
    ),
    fsFunction(
      "wasi.path_remove_directory",
      "effect",
      (ctx, req, { root, rel }) => {
        if (isGrantRoot(ctx.grants, req.path)) throw new FsError("EPERM", `'${req.path}' is a granted directory`);
        host(req.path, () => root.at(rel, (p) => rmdirSync(p), NAME_ONLY));
      },
      (ctx, req, intent) => (existedBefore(intent) === true && nameAt(ctx.grants, req.path) === null ? { done: undefined } : "redo"),
    ),
    fsFunction(
      "wasi.path_rename",
      "effect",
      (ctx, req, from) => {
        if (isGrantRoot(ctx.grants, req.path) || isGrantRoot(ctx.grants, req.to))
          throw new FsError("EPERM", "a granted directory cannot be renamed");
        const to = confinedPath(ctx.grants, req.to, true);
        host(req.path, () => ConfinedRoot.atBoth(from.root, from.rel, to.root, to.rel, renameSync, { a: true, b: true }));
      },
      (ctx, req, intent) =>
        existedBefore(intent) === true && nameAt(ctx.grants, req.path) === null && nameAt(ctx.grants, req.to) !== null
          ? { done: undefined }
          : "redo",
    ),
  ].map((f) => [`p2:${f.name}`, f]),
);

interface FileRead {
  path: string;
  offset: number;
  len: number;
}

/** `wasi.fd_read` of a file at an offset: the bytes read are journaled, so a replay never reads the disk. */
export const p2FileRead: HostFunction<FileRead> = {
  name: "wasi.fd_read",
  kind: "read",
  parse(r) {
    const f = new RequestFields("wasi.fd_read", r);
    return { path: f.str("path"), offset: f.uint("offset"), len: f.uint("len", MAX_FILE_CHUNK) };
  },
  perform(ctx, req) {
    const { root, rel } = confinedPath(ctx.grants, req.path, false);
    return host(req.path, () =>
      root.withOpen(rel, O_RDONLY, { follow: true, type: "file" }, (fd) => {
        const buf = new Uint8Array(req.len);
        const n = readSync(fd, buf, 0, req.len, req.offset);
        return buf.subarray(0, n);
      }),
    );
  },
};

interface FileWrite {
  path: string;
  offset: number;
  data: Uint8Array;
}

/** `wasi.fd_pwrite` to a file at an offset: an effect; writing the same bytes again is harmless. */
export const p2FileWrite: HostFunction<FileWrite> = {
  name: "wasi.fd_pwrite",
  kind: "effect",
  parse(r) {
    const f = new RequestFields("wasi.fd_pwrite", r);
    return { path: f.str("path"), offset: f.uint("offset"), data: f.bytes("data") };
  },
  redoSafe: () => true,
  perform(ctx, req) {
    const { root, rel } = confinedPath(ctx.grants, req.path, true);
    return host(req.path, () =>
      root.withOpen(rel, O_WRONLY, { follow: true, type: "file" }, (fd) => {
        let done = 0;
        while (done < req.data.length) done += writeSync(fd, req.data, done, req.data.length - done, req.offset + done);
        return undefined;
      }),
    );
  },
};
