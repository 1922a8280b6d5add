import type { HostFunction } from "../../engine/kernel/host-function.js";
import { asBigInt, asBytes, asNumber, encode, journaled, andThen, type Result } from "./codec.js";
import { Errno, ERRNO } from "./errno.js";
import { DIRECTORY_RIGHTS, FDFLAGS, FILE_RIGHTS, FILETYPE, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS, SIZE, WHENCE } from "./constants.js";
import { filetypeOf, need, type FdEntry } from "./fd-table.js";
import { guestPathAt } from "./paths.js";
import { utf8 } from "./memory.js";
import { fileFunctions, MAX_READ, MAX_WRITE, type Dirent3, type Filestat } from "./files.js";
import { I, i32s, L, wasiInterface, type ImportDecl } from "./interface.js";
import { stdioWrite } from "./stdio.js";
import type { WasiEnv, WasiImport } from "./state.js";

/**
 * The guest side of WASI descriptors and paths. Each import checks its pointers, derives what it
 * can from the fd table (no journal needed for that), makes at most the journaled calls it must,
 * and applies the (possibly replayed) result to the fd table and guest memory.
 */
function fileImports(env: WasiEnv): Record<FileImport, WasiImport> {
  const { mem, dispatcher, table, grants, run, handles } = env;

  /** A file fd holding FD_READ or FD_WRITE: EBADF otherwise (as POSIX for a file not opened so). */
  const file = (fd: number, want: "read" | "write"): FdEntry => {
    const e = table.require(fd);
    if (e.kind === "dir") throw new Errno(ERRNO.EISDIR);
    if (e.kind !== "file" || (e.rightsBase & (want === "read" ? RIGHTS.FD_READ : RIGHTS.FD_WRITE)) === 0n) throw new Errno(ERRNO.EBADF);
    return e;
  };

  // ---- reading ------------------------------------------------------------------------------

  /** Reads from `at` into the iovecs: stdin from the run's input, files through the journal. */
  const readAt = (fd: number, e: FdEntry, iovs: number, iovsLen: number, at: number, nread: number, advance: boolean): Result => {
    mem.check(nread, 4);
    const { list, total } = mem.iovecs(iovs, iovsLen);
    if (e.kind === "stdin") {
      // The input is pinned with the run: replay sees the same bytes without a journal entry.
      const n = mem.scatter(list, run.input.subarray(at, at + total));
      if (advance) e.offset += n;
      mem.setU32(nread, n);
      return ERRNO.ESUCCESS;
    }
    const len = Math.min(total, MAX_READ);
    if (len === 0) {
      mem.setU32(nread, 0);
      return ERRNO.ESUCCESS;
    }
    return journaled(dispatcher, "wasi.fd_read", encode({ fd, at, len }), (v) => {
      const n = mem.scatter(list, asBytes(v));
      if (advance) e.offset = at + n;
      mem.setU32(nread, n);
      return ERRNO.ESUCCESS;
    });
  };

  const fd_read = (fd: number, iovs: number, iovsLen: number, nread: number): Result => {
    const e = table.require(fd);
    if (e.kind !== "stdin") file(fd, "read");
    return readAt(fd, e, iovs, iovsLen, e.offset, nread, true);
  };

  const fd_pread = (fd: number, iovs: number, iovsLen: number, offset: bigint, nread: number): Result => {
    const e = table.require(fd);
    if (e.kind === "stdin") throw new Errno(ERRNO.ESPIPE);
    file(fd, "read");
    return readAt(fd, e, iovs, iovsLen, Number(offset), nread, false);
  };

  // ---- writing ------------------------------------------------------------------------------

  const writeAt = (fd: number, e: FdEntry, iovs: number, iovsLen: number, at: number | undefined, nwritten: number): Result => {
    mem.check(nwritten, 4);
    let data = mem.gather(iovs, iovsLen);
    if (data.length === 0) {
      mem.setU32(nwritten, 0);
      return ERRNO.ESUCCESS;
    }
    if (e.kind === "stdout" || e.kind === "stderr") {
      const n = data.length;
      return andThen(env.stdio.write(dispatcher, e.kind === "stdout" ? 1 : 2, data), () => {
        mem.setU32(nwritten, n);
        return ERRNO.ESUCCESS;
      });
    }
    file(fd, "write");
    if (data.length > MAX_WRITE) data = data.subarray(0, MAX_WRITE);
    const n = data.length;
    const append = at === undefined && (e.fdflags & FDFLAGS.APPEND) !== 0;
    const request = append ? { fd, data } : { fd, data, at: at ?? e.offset };
    return journaled(dispatcher, "wasi.fd_pwrite", encode(request), (v) => {
      // Append: the journaled result is where the data landed; the offset follows it (POSIX).
      if (at === undefined) e.offset = asNumber(v) + n;
      mem.setU32(nwritten, n);
      return ERRNO.ESUCCESS;
    });
  };

  const fd_write = (fd: number, iovs: number, iovsLen: number, nwritten: number): Result => {
    const e = table.require(fd);
    if (e.kind === "stdin") throw new Errno(ERRNO.EBADF);
    return writeAt(fd, e, iovs, iovsLen, undefined, nwritten);
  };

  const fd_pwrite = (fd: number, iovs: number, iovsLen: number, offset: bigint, nwritten: number): Result => {
    const e = table.require(fd);
    if (e.kind !== "file") throw new Errno(e.kind === "dir" ? ERRNO.EISDIR : ERRNO.ESPIPE);
    return writeAt(fd, e, iovs, iovsLen, Number(offset), nwritten);
  };

  // ---- offsets ------------------------------------------------------------------------------

  const fd_seek = (fd: number, delta: bigint, whence: number, out: number): Result => {
    mem.check(out, 8);
    const e = table.require(fd);
    if (e.kind !== "file") throw new Errno(e.kind === "dir" ? ERRNO.EBADF : ERRNO.ESPIPE);
    // Telling (a zero move from the current offset) needs FD_TELL or FD_SEEK; any other move FD_SEEK.
    need(e, whence === WHENCE.CUR && delta === 0n ? RIGHTS.FD_SEEK | RIGHTS.FD_TELL : RIGHTS.FD_SEEK);
    const land = (base: bigint): number => {
      const pos = base + delta;
      if (pos < 0n || pos > BigInt(Number.MAX_SAFE_INTEGER)) return ERRNO.EINVAL;
      e.offset = Number(pos);
      mem.setU64(out, pos);
      return ERRNO.ESUCCESS;
    };
    if (whence === WHENCE.SET) return land(0n);
    if (whence === WHENCE.CUR) return land(BigInt(e.offset));
    if (whence !== WHENCE.END) return ERRNO.EINVAL;
    // The size is the host's business: journaled like any stat.
    return journaled(dispatcher, "wasi.fd_filestat_get", encode({ fd }), (v) => land(asBigInt((v as Filestat)[4])));
  };

  const fd_tell = (fd: number, out: number): number => {
    mem.check(out, 8);
    const e = table.require(fd);
    if (e.kind !== "file") throw new Errno(e.kind === "dir" ? ERRNO.EBADF : ERRNO.ESPIPE);
    need(e, RIGHTS.FD_SEEK | RIGHTS.FD_TELL);
    mem.setU64(out, BigInt(e.offset));
    return ERRNO.ESUCCESS;
  };

  // ---- descriptors --------------------------------------------------------------------------

  const fd_close = (fd: number): number => {
    if (!table.delete(fd)) return ERRNO.EBADF;
    handles.close(fd);
    return ERRNO.ESUCCESS;
  };

  const fd_renumber = (from: number, to: number): number => {
    const e = table.require(from);
    table.require(to);
    if (from === to) return ERRNO.ESUCCESS;
    table.set(to, e);
    table.delete(from);
    handles.move(from, to);
    return ERRNO.ESUCCESS;
  };

  const fd_fdstat_get = (fd: number, out: number): number => {
    mem.check(out, SIZE.FDSTAT);
    const e = table.require(fd);
    mem.write(out, new Uint8Array(SIZE.FDSTAT));
    mem.setU8(out, filetypeOf(e.kind));
    mem.setU16(out + 2, e.fdflags);
    mem.setU64(out + 8, e.rightsBase);
    mem.setU64(out + 16, e.rightsInheriting);
    return ERRNO.ESUCCESS;
  };

  /** Only APPEND changes anything (the others are accepted and remembered). */
  const fd_fdstat_set_flags = (fd: number, flags: number): number => {
    table.require(fd).fdflags = flags & 0x1f;
    return ERRNO.ESUCCESS;
  };

  /** Rights only narrow: asking for one the fd does not hold is ENOTCAPABLE, and nothing changes. */
  const fd_fdstat_set_rights = (fd: number, base: bigint, inheriting: bigint): number => {
    const e = table.require(fd);
    if ((base & ~e.rightsBase) !== 0n || (inheriting & ~e.rightsInheriting) !== 0n) return ERRNO.ENOTCAPABLE;
    e.rightsBase = base;
    e.rightsInheriting = inheriting;
    return ERRNO.ESUCCESS;
  };

  const fd_prestat_get = (fd: number, out: number): number => {
    mem.check(out, SIZE.PRESTAT);
    const e = table.require(fd);
    if (!e.preopen) return ERRNO.EBADF;
    mem.write(out, new Uint8Array(SIZE.PRESTAT));
    mem.setU32(out + 4, utf8(e.guest).length);
    return ERRNO.ESUCCESS;
  };

  const fd_prestat_dir_name = (fd: number, buf: number, len: number): number => {
    const e = table.require(fd);
    if (!e.preopen) return ERRNO.EBADF;
    const name = utf8(e.guest);
    if (len >>> 0 < name.length) return ERRNO.ENAMETOOLONG;
    mem.write(buf, name);
    return ERRNO.ESUCCESS;
  };

  /** Not journaled: fsync of a file this process has open; see docs/wasi.md. */
  const fd_sync = (fd: number): number => {
    const e = table.require(fd);
    if (e.kind === "file") handles.sync(fd);
    else if (e.kind !== "dir") return ERRNO.EINVAL;
    return ERRNO.ESUCCESS;
  };

  const fd_advise = (fd: number): number => {
    const e = table.require(fd);
    return e.kind === "file" ? ERRNO.ESUCCESS : e.kind === "dir" ? ERRNO.EBADF : ERRNO.ESPIPE;
  };

  // ---- stat and directories -----------------------------------------------------------------

  const writeFilestat = (out: number, s: Filestat): number => {
    mem.write(out, new Uint8Array(SIZE.FILESTAT));
    mem.setU64(out, asBigInt(s[0]));
    mem.setU64(out + 8, asBigInt(s[1]));
    mem.setU8(out + 16, asNumber(s[2]));
    mem.setU64(out + 24, asBigInt(s[3]));
    mem.setU64(out + 32, asBigInt(s[4]));
    mem.setU64(out + 40, asBigInt(s[5]));
    mem.setU64(out + 48, asBigInt(s[6]));
    mem.setU64(out + 56, asBigInt(s[7]));
    return ERRNO.ESUCCESS;
  };

  const fd_filestat_get = (fd: number, out: number): Result => {
    mem.check(out, SIZE.FILESTAT);
    const e = table.require(fd);
    if (e.kind !== "file" && e.kind !== "dir") {
      // Stdio is a character device with nothing else to say: constant, not journaled.
      return writeFilestat(out, [0n, 0n, FILETYPE.CHARACTER_DEVICE, 1n, 0n, 0n, 0n, 0n]);
    }
    return journaled(dispatcher, "wasi.fd_filestat_get", encode({ fd }), (v) => writeFilestat(out, v as Filestat));
  };

  /** The path `ptr`/`len` names under directory fd `dirfd`, which must hold `right`. */
  const path = (dirfd: number, ptr: number, len: number, right: bigint) => {
    const at = guestPathAt(table, grants, dirfd, mem.string(ptr, len >>> 0));
    need(table.require(dirfd), right);
    return at;
  };

  const path_filestat_get = (dirfd: number, flags: number, ptr: number, len: number, out: number): Result => {
    mem.check(out, SIZE.FILESTAT);
    const at = path(dirfd, ptr, len, RIGHTS.PATH_FILESTAT_GET).path;
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    return journaled(dispatcher, "wasi.path_filestat_get", encode({ path: at, follow }), (v) => writeFilestat(out, v as Filestat));
  };

  const fd_readdir = (fd: number, buf: number, bufLen: number, cookie: bigint, bufused: number): Result => {
    mem.check(bufused, 4);
    const size = bufLen >>> 0;
    mem.check(buf, size);
    const e = table.require(fd);
    if (e.kind !== "dir") return ERRNO.ENOTDIR;
    need(e, RIGHTS.FD_READDIR);
    if (cookie > BigInt(Number.MAX_SAFE_INTEGER)) return ERRNO.EINVAL;
    const start = Number(cookie);
    return journaled(dispatcher, "wasi.fd_readdir", encode({ fd, cookie: start, len: size }), (v) => {
      const entries = Array.isArray(v) ? (v as Dirent3[]) : [];
      const parts: Uint8Array[] = [];
      entries.forEach(([name, type, ino], i) => {
        const nameBytes = utf8(String(name));
        const d = new Uint8Array(SIZE.DIRENT + nameBytes.length);
        const dv = new DataView(d.buffer);
        dv.setBigUint64(0, BigInt(start + i + 1), true);
        dv.setBigUint64(8, asBigInt(ino), true);
        dv.setUint32(16, nameBytes.length, true);
        dv.setUint8(20, asNumber(type));
        d.set(nameBytes, SIZE.DIRENT);
        parts.push(d);
      });
      let used = 0;
      for (const p of parts) {
        if (used >= size) break;
        const n = Math.min(p.length, size - used);
        mem.write(buf + used, p.subarray(0, n));
        used += n;
      }
      mem.setU32(bufused, used);
      return ERRNO.ESUCCESS;
    });
  };

  const pathCall =
    (op: string, right: bigint) =>
    (dirfd: number, ptr: number, len: number): Result =>
      journaled(dispatcher, op, encode({ path: path(dirfd, ptr, len, right).path }), () => ERRNO.ESUCCESS);

  const path_rename = (fd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): Result => {
    const from = path(fd, oldPtr, oldLen, RIGHTS.PATH_RENAME_SOURCE).path;
    const to = path(newFd, newPtr, newLen, RIGHTS.PATH_RENAME_TARGET).path;
    return journaled(dispatcher, "wasi.path_rename", encode({ from, to }), () => ERRNO.ESUCCESS);
  };

  // ---- open ---------------------------------------------------------------------------------

  const path_open = (
    dirfd: number,
    dirflags: number,
    ptr: number,
    len: number,
    oflags: number,
    rightsBase: bigint,
    rightsInheriting: bigint,
    fdflags: number,
    out: number,
  ): Result => {
    mem.check(out, 4);
    const { guest, path: at, grant } = path(dirfd, ptr, len, RIGHTS.PATH_OPEN);
    const creat = (oflags & OFLAGS.CREAT) !== 0;
    const trunc = (oflags & OFLAGS.TRUNC) !== 0;
    const dir = (oflags & OFLAGS.DIRECTORY) !== 0;
    if (dir && (creat || trunc)) return ERRNO.EINVAL;
    const parent = table.require(dirfd);
    if (creat) need(parent, RIGHTS.PATH_CREATE_FILE);
    if (trunc) need(parent, RIGHTS.PATH_FILESTAT_SET_SIZE);
    // What is opened gets at most what its directory passes on (its inheriting rights).
    const base = rightsBase & parent.rightsInheriting;
    const inheriting = rightsInheriting & parent.rightsInheriting;
    const read = (base & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
    const write = (base & RIGHTS.FD_WRITE) !== 0n;
    const fd = table.next();
    const request = {
      fd,
      path: at,
      dir,
      follow: (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0,
      read,
      write,
      creat,
      excl: (oflags & OFLAGS.EXCL) !== 0,
      trunc,
    };
    const op = creat || trunc ? "wasi.path_open_create" : "wasi.path_open";
    return journaled(dispatcher, op, encode(request), (v) => {
      const isDir = asNumber(v) === FILETYPE.DIRECTORY;
      table.set(fd, {
        kind: isDir ? "dir" : "file",
        guest,
        grant,
        preopen: false,
        offset: 0,
        fdflags: fdflags & 0x1f,
        read,
        write: write && !isDir,
        // A directory has no read, write or seek rights, a file no path rights, whatever was asked.
        rightsBase: base & (isDir ? DIRECTORY_RIGHTS : FILE_RIGHTS),
        rightsInheriting: inheriting & RIGHTS.ALL,
      });
      mem.setU32(out, fd);
      return ERRNO.ESUCCESS;
    });
  };

  const fd_filestat_set_size = (fd: number, size: bigint): Result => {
    file(fd, "write");
    if (size < 0n || size > BigInt(Number.MAX_SAFE_INTEGER)) return ERRNO.EINVAL;
    return journaled(dispatcher, "wasi.fd_filestat_set_size", encode({ fd, size: Number(size) }), () => ERRNO.ESUCCESS);
  };

  return {
    fd_read,
    fd_pread,
    fd_write,
    fd_pwrite,
    fd_seek,
    fd_tell,
    fd_close,
    fd_renumber,
    fd_fdstat_get,
    fd_fdstat_set_flags,
    fd_fdstat_set_rights,
    fd_prestat_get,
    fd_prestat_dir_name,
    fd_sync,
    fd_datasync: fd_sync,
    fd_advise,
    fd_filestat_get,
    path_filestat_get,
    fd_readdir,
    path_create_directory: pathCall("wasi.path_create_directory", RIGHTS.PATH_CREATE_DIRECTORY),
    path_remove_directory: pathCall("wasi.path_remove_directory", RIGHTS.PATH_REMOVE_DIRECTORY),
    path_unlink_file: pathCall("wasi.path_unlink_file", RIGHTS.PATH_UNLINK_FILE),
    path_rename,
    path_open,
    fd_filestat_set_size,
  };
}

const none = (params: ImportDecl["params"]): ImportDecl => ({ params, ops: [] });

/** Descriptors and paths: reads, writes, opens, stats, directories, rename, truncation. */
const FILE_IMPORTS = {
  fd_read: { params: i32s(4), ops: ["wasi.fd_read"] },
  fd_pread: { params: [I, I, I, L, I], ops: ["wasi.fd_read"] },
  fd_write: { params: i32s(4), ops: ["wasi.fd_write", "wasi.fd_pwrite"] },
  fd_pwrite: { params: [I, I, I, L, I], ops: ["wasi.fd_pwrite"] },
  // SEEK_END reads the file's size.
  fd_seek: { params: [I, L, I, I], ops: ["wasi.fd_filestat_get"] },
  fd_tell: none(i32s(2)),
  fd_close: none(i32s(1)),
  fd_renumber: none(i32s(2)),
  fd_fdstat_get: none(i32s(2)),
  fd_fdstat_set_flags: none(i32s(2)),
  fd_fdstat_set_rights: none([I, L, L]),
  fd_prestat_get: none(i32s(2)),
  fd_prestat_dir_name: none(i32s(3)),
  // An fsync of the host handle, not journaled (docs/wasi.md).
  fd_sync: none(i32s(1)),
  fd_datasync: none(i32s(1)),
  fd_advise: none([I, L, L, I]),
  fd_filestat_get: { params: i32s(2), ops: ["wasi.fd_filestat_get"] },
  path_filestat_get: { params: i32s(5), ops: ["wasi.path_filestat_get"] },
  fd_readdir: { params: [I, I, I, L, I], ops: ["wasi.fd_readdir"] },
  path_create_directory: { params: i32s(3), ops: ["wasi.path_create_directory"] },
  path_remove_directory: { params: i32s(3), ops: ["wasi.path_remove_directory"] },
  path_unlink_file: { params: i32s(3), ops: ["wasi.path_unlink_file"] },
  path_rename: { params: i32s(6), ops: ["wasi.path_rename"] },
  path_open: { params: [I, I, I, I, I, L, L, I, I], ops: ["wasi.path_open", "wasi.path_open_create"] },
  fd_filestat_set_size: { params: [I, L], ops: ["wasi.fd_filestat_set_size"] },
} as const satisfies Record<string, ImportDecl>;
type FileImport = keyof typeof FILE_IMPORTS;

export const filesInterface = wasiInterface({
  name: "files",
  imports: FILE_IMPORTS,
  guest: fileImports,
  host: (state) => [stdioWrite as HostFunction<never>, ...fileFunctions(state)],
});
