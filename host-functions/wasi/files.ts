import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  readSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
  type Dirent,
} from "node:fs";
import type { Grants } from "../../engine/kernel/grants.js";
import type { HostFunction } from "../../engine/kernel/host-function.js";
import { RequestFields } from "../request-fields.js";
import { ConfinedRoot, fdPath } from "../confined-root.js";
import { FsError, fsErrorOf } from "../fs-error.js";
import { FILETYPE, SIZE } from "./constants.js";
import { MAX_OPEN_FDS, type FdEntry } from "./fd-table.js";
import { openMode } from "./handles.js";
import { confinedPath, isGrantRoot } from "./paths.js";
import type { WasiState } from "./state.js";

/** Largest read journaled as one entry; a larger fd_read is a short read (POSIX allows it). */
export const MAX_READ = 1024 * 1024;
/** Largest write done as one effect; a larger fd_write is a short write. */
export const MAX_WRITE = 16 * 1024 * 1024;

/** A filestat as journaled: [dev, ino, filetype, nlink, size, atim, mtim, ctim] (ns times). */
export type Filestat = [bigint, bigint, number, bigint, bigint, bigint, bigint, bigint];
/** A directory entry as journaled: [name, filetype, ino]. */
export type Dirent3 = [string, number, bigint];

function filetypeOfStats(s: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): number {
  if (s.isFile()) return FILETYPE.REGULAR_FILE;
  if (s.isDirectory()) return FILETYPE.DIRECTORY;
  if (s.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (s.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (s.isBlockDevice()) return 1;
  return FILETYPE.UNKNOWN;
}

function filestat(s: BigIntStats): Filestat {
  return [s.dev, s.ino, filetypeOfStats(s), s.nlink, s.size, s.atimeNs, s.mtimeNs, s.ctimeNs];
}

/** Whether `guest` exists (a dangling symlink does), looked up confined. */
function exists(grants: Grants, guest: string): boolean {
  const { root, rel } = confinedPath(grants, guest, false);
  return io(guest, () => root.statOrNull(rel, false) !== null);
}

/** Runs a host file operation, turning Node's errors into the errno the guest gets. */
function io<T>(guest: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fsErrorOf(err, guest);
  }
}

interface FdReq {
  fd: number;
}
interface ReadReq {
  fd: number;
  at: number;
  len: number;
}
interface WriteReq {
  fd: number;
  data: Uint8Array;
  at: number | undefined;
}
interface OpenReq {
  fd: number;
  path: string;
  dir: boolean;
  follow: boolean;
  read: boolean;
  write: boolean;
  creat: boolean;
  excl: boolean;
  trunc: boolean;
}
interface PathReq {
  path: string;
  follow: boolean;
}
interface RenameReq {
  from: string;
  to: string;
}
interface ReaddirReq {
  fd: number;
  cookie: number;
  len: number;
}
interface SizeReq {
  fd: number;
  size: number;
}

/**
 * The live side of WASI file calls, as host functions of the dispatcher. Requests name fds of the
 * deterministic fd table and absolute guest paths; every path is mapped and confined again here
 * (confinedPath, then the grant's ConfinedRoot), so a request cannot reach outside the grants
 * whoever built it.
 */
export function fileFunctions(state: WasiState): HostFunction<never>[] {
  const { table, handles, grants } = state;

  const fileEntry = (fd: number, want: "read" | "write"): FdEntry => {
    const e = table.get(fd);
    if (!e || e.kind !== "file") throw new FsError(e?.kind === "dir" ? "EISDIR" : "EBADF", `fd ${fd} is not an open file`);
    if (!e[want]) throw new FsError("EBADF", `fd ${fd} is not open for ${want === "read" ? "reading" : "writing"}`);
    return e;
  };

  const fdReq =
    (op: string) =>
    (r: unknown): FdReq => ({ fd: new RequestFields(op, r).uint("fd") });
  const pathReq =
    (op: string) =>
    (r: unknown): PathReq => {
      const f = new RequestFields(op, r);
      return { path: f.str("path"), follow: f.bool("follow") };
    };

  /** `wasi.fd_read` (also fd_pread): positional read at the offset in the request; bytes journaled. */
  const fdRead: HostFunction<ReadReq> = {
    name: "wasi.fd_read",
    kind: "read",
    parse(r) {
      const f = new RequestFields("wasi.fd_read", r);
      return { fd: f.uint("fd"), at: f.uint("at"), len: f.uint("len", MAX_READ) };
    },
    perform(_ctx, req) {
      const e = fileEntry(req.fd, "read");
      const h = handles.get(req.fd, e, "read");
      const buf = new Uint8Array(req.len);
      const n = io(e.guest, () => readSync(h, buf, 0, req.len, req.at));
      return buf.subarray(0, n);
    },
  };

  /**
   * `wasi.fd_pwrite` (fd_write and fd_pwrite on files): an effect. At an explicit offset a redo
   * after a crash writes the same bytes at the same place again (idempotent). In append mode the
   * intent records the file's size; on recovery a file grown by exactly this write is taken as
   * written, so an append is never doubled. The result is the offset the data went to.
   */
  const fdPwrite: HostFunction<WriteReq> = {
    name: "wasi.fd_pwrite",
    kind: "effect",
    parse(r) {
      const f = new RequestFields("wasi.fd_pwrite", r);
      return { fd: f.uint("fd"), data: f.bytes("data"), at: f.optUint("at") };
    },
    redoSafe: (req) => req.at !== undefined,
    intent(_ctx, req) {
      if (req.at !== undefined) return undefined;
      const e = fileEntry(req.fd, "write");
      return { size: io(e.guest, () => fstatSync(handles.get(req.fd, e, "read")).size) };
    },
    recover(_ctx, req, intent) {
      const before = (intent as { size?: unknown } | null)?.size;
      if (req.at !== undefined || typeof before !== "number") return "redo";
      const e = fileEntry(req.fd, "write");
      const now = io(e.guest, () => fstatSync(handles.get(req.fd, e, "read")).size);
      return now === before + req.data.length ? { done: before } : "redo";
    },
    perform(_ctx, req) {
      const e = fileEntry(req.fd, "write");
      const h = handles.get(req.fd, e, "write");
      const at = req.at ?? io(e.guest, () => fstatSync(h).size);
      let done = 0;
      while (done < req.data.length) {
        done += io(e.guest, () => writeSync(h, req.data, done, req.data.length - done, at + done));
      }
      return at;
    },
  };

  const openReq =
    (op: string) =>
    (r: unknown): OpenReq => {
      const f = new RequestFields(op, r);
      return {
        fd: f.uint("fd"),
        path: f.str("path"),
        dir: f.bool("dir"),
        follow: f.bool("follow"),
        read: f.bool("read"),
        write: f.bool("write"),
        creat: f.bool("creat"),
        excl: f.bool("excl"),
        trunc: f.bool("trunc"),
      };
    };

  /**
   * Opens live, confined (a FIFO, socket or device is ENOTSUP, never opened for good: O_NONBLOCK
   * and a type check); keeps the host handle of a file under the guest fd the import layer chose.
   * A directory keeps none: directory fds are paths, looked up again by each call.
   */
  const open = (req: OpenReq): number => {
    if (table.get(req.fd)) throw new FsError("EBADF", `fd ${req.fd} is already open`);
    // Journaled like any answer of the host, so a replay gets the same EMFILE.
    if (table.size >= MAX_OPEN_FDS) throw new FsError("EMFILE", `the run has ${MAX_OPEN_FDS} descriptors open; close some first`);
    const mutates = req.creat || req.trunc;
    const { root, rel } = confinedPath(grants, req.path, req.write || mutates);
    let flags = openMode(req.read, req.write);
    if (req.creat) flags |= constants.O_CREAT;
    if (req.excl) flags |= constants.O_EXCL;
    if (req.trunc) flags |= constants.O_TRUNC;
    const type = req.dir ? "dir" : req.write || mutates ? "file" : "file-or-dir";
    const h = io(req.path, () => root.open(rel, flags, { follow: req.follow, type }));
    let isDir: boolean;
    try {
      isDir = io(req.path, () => fstatSync(h).isDirectory());
    } catch (err) {
      closeSync(h);
      throw err;
    }
    if (isDir) {
      closeSync(h);
      return FILETYPE.DIRECTORY;
    }
    handles.adopt(req.fd, h, req.write);
    return FILETYPE.REGULAR_FILE;
  };

  /** `wasi.path_open` without O_CREAT/O_TRUNC: changes nothing on disk, so a read. Result: filetype. */
  const pathOpen: HostFunction<OpenReq> = {
    name: "wasi.path_open",
    kind: "read",
    parse: openReq("wasi.path_open"),
    perform: (_ctx, req) => open(req),
  };

  /**
   * `wasi.path_open_create` (O_CREAT and/or O_TRUNC): an effect. Creating or truncating again
   * after a crash is idempotent, so it is redone; with O_EXCL the intent records whether the file
   * existed, and a file that appeared since is taken as created by this call.
   */
  const pathOpenCreate: HostFunction<OpenReq> = {
    name: "wasi.path_open_create",
    kind: "effect",
    parse: openReq("wasi.path_open_create"),
    intent: (_ctx, req) => (req.excl ? { existed: exists(grants, req.path) } : undefined),
    recover(_ctx, req, intent) {
      const existed = (intent as { existed?: unknown } | null)?.existed;
      if (!req.excl || existed !== false) return "redo";
      return exists(grants, req.path) ? { done: FILETYPE.REGULAR_FILE } : "redo";
    },
    perform: (_ctx, req) => open(req),
  };

  /** `wasi.fd_filestat_get`: journaled stat of an open file or directory. */
  const fdFilestatGet: HostFunction<FdReq> = {
    name: "wasi.fd_filestat_get",
    kind: "read",
    parse: fdReq("wasi.fd_filestat_get"),
    perform(_ctx, req) {
      const e = table.get(req.fd);
      if (!e || (e.kind !== "file" && e.kind !== "dir")) throw new FsError("EBADF", `fd ${req.fd} is not an open file or directory`);
      if (e.kind === "file") return filestat(io(e.guest, () => fstatSync(handles.get(req.fd, e, "read"), { bigint: true })));
      const { root, rel } = confinedPath(grants, e.guest, false);
      return filestat(io(e.guest, () => root.stat(rel, true)));
    },
  };

  /** `wasi.path_filestat_get`: journaled stat (lstat without SYMLINK_FOLLOW). */
  const pathFilestatGet: HostFunction<PathReq> = {
    name: "wasi.path_filestat_get",
    kind: "read",
    parse: pathReq("wasi.path_filestat_get"),
    perform(_ctx, req) {
      const { root, rel } = confinedPath(grants, req.path, false);
      return filestat(io(req.path, () => root.stat(rel, req.follow)));
    },
  };

  /**
   * `wasi.fd_readdir`: the entries from `cookie` that fill `len` bytes of dirents (the last one
   * possibly cut, as WASI asks) are journaled. Order: `.`, `..`, then names sorted by code unit.
   */
  const fdReaddir: HostFunction<ReaddirReq> = {
    name: "wasi.fd_readdir",
    kind: "read",
    parse(r) {
      const f = new RequestFields("wasi.fd_readdir", r);
      return { fd: f.uint("fd"), cookie: f.uint("cookie"), len: f.uint("len") };
    },
    perform(_ctx, req) {
      const e = table.get(req.fd);
      if (!e || e.kind !== "dir") throw new FsError(e ? "ENOTDIR" : "EBADF", `fd ${req.fd} is not an open directory`);
      const { root, rel } = confinedPath(grants, e.guest, false);
      // Everything is read through the directory's descriptor, while it is open.
      return io(e.guest, () =>
        root.withOpen(rel, constants.O_RDONLY, { follow: true, type: "dir" }, (dir) => {
          const list: Dirent[] = readdirSync(fdPath(dir), { withFileTypes: true });
          list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
          const ino = (name: string) => {
            try {
              return lstatSync(fdPath(dir, name), { bigint: true }).ino;
            } catch {
              return 0n;
            }
          };
          const all: Array<() => Dirent3> = [
            () => [".", FILETYPE.DIRECTORY, ino(".")],
            () => ["..", FILETYPE.DIRECTORY, isGrantRoot(grants, e.guest) ? ino(".") : ino("..")],
            ...list.map((d) => (): Dirent3 => [d.name, filetypeOfStats(d), ino(d.name)]),
          ];
          const out: Dirent3[] = [];
          let bytes = 0;
          for (let i = req.cookie; i < all.length && bytes < req.len; i++) {
            const d = all[i]!();
            out.push(d);
            bytes += SIZE.DIRENT + Buffer.byteLength(d[0]);
          }
          return out;
        }),
      );
    },
  };

  /** Removing or renaming a granted directory itself is refused (as `fs.remove` does). */
  const notRoot = (guest: string) => {
    if (isGrantRoot(grants, guest)) throw new FsError("EBUSY", `'${guest}' is a granted directory`);
  };

  /** Path effects whose completion can be read from the disk after a crash. */
  const pathEffect = (
    name: "wasi.path_create_directory" | "wasi.path_remove_directory" | "wasi.path_unlink_file",
    act: (path: string) => void,
    doneWhen: (existedBefore: boolean, existsNow: boolean) => boolean,
  ): HostFunction<PathReq> => ({
    name,
    kind: "effect",
    parse: pathReq(name),
    intent: (_ctx, req) => ({ existed: exists(grants, req.path) }),
    recover(_ctx, req, intent) {
      const existed = (intent as { existed?: unknown } | null)?.existed;
      if (typeof existed !== "boolean") return "redo";
      return doneWhen(existed, exists(grants, req.path)) ? { done: undefined } : "redo";
    },
    perform(_ctx, req) {
      if (name !== "wasi.path_create_directory") notRoot(req.path);
      const { root, rel } = confinedPath(grants, req.path, true);
      // Each act works on the name only: a trailing slash goes to the kernel (`file/` is ENOTDIR).
      io(req.path, () => root.at(rel, act, { nameOnly: true }));
      return undefined;
    },
  });

  const pathCreateDirectory = pathEffect(
    "wasi.path_create_directory",
    (h) => mkdirSync(h),
    (before, now) => !before && now,
  );
  const pathRemoveDirectory = pathEffect(
    "wasi.path_remove_directory",
    (h) => rmdirSync(h),
    (before, now) => before && !now,
  );
  const pathUnlinkFile = pathEffect(
    "wasi.path_unlink_file",
    // Linux's unlink answers EISDIR for a directory, with or without a trailing slash.
    (h) => unlinkSync(h),
    (before, now) => before && !now,
  );

  /** `wasi.path_rename`: an effect; done after a crash when the source is gone and the target is there. */
  const pathRename: HostFunction<RenameReq> = {
    name: "wasi.path_rename",
    kind: "effect",
    parse(r) {
      const f = new RequestFields("wasi.path_rename", r);
      return { from: f.str("from"), to: f.str("to") };
    },
    intent: (_ctx, req) => ({ existed: exists(grants, req.from) }),
    recover(_ctx, req, intent) {
      if ((intent as { existed?: unknown } | null)?.existed !== true) return "redo";
      const done = !exists(grants, req.from) && exists(grants, req.to);
      return done ? { done: undefined } : "redo";
    },
    perform(_ctx, req) {
      notRoot(req.from);
      notRoot(req.to);
      const from = confinedPath(grants, req.from, true);
      const to = confinedPath(grants, req.to, true);
      io(req.from, () => ConfinedRoot.atBoth(from.root, from.rel, to.root, to.rel, renameSync, { a: true, b: true }));
      return undefined;
    },
  };

  /** `wasi.fd_filestat_set_size` (ftruncate): an effect, idempotent, redone after a crash. */
  const fdFilestatSetSize: HostFunction<SizeReq> = {
    name: "wasi.fd_filestat_set_size",
    kind: "effect",
    parse(r) {
      const f = new RequestFields("wasi.fd_filestat_set_size", r);
      return { fd: f.uint("fd"), size: f.uint("size") };
    },
    redoSafe: () => true,
    perform(_ctx, req) {
      const e = fileEntry(req.fd, "write");
      io(e.guest, () => ftruncateSync(handles.get(req.fd, e, "write"), req.size));
      return undefined;
    },
  };

  return [
    fdRead,
    fdPwrite,
    pathOpen,
    pathOpenCreate,
    fdFilestatGet,
    pathFilestatGet,
    fdReaddir,
    pathCreateDirectory,
    pathRemoveDirectory,
    pathUnlinkFile,
    pathRename,
    fdFilestatSetSize,
  ] as HostFunction<never>[];
}
