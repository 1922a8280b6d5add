import { asBytes, encode, journaled, type Result } from "./codec.js";
import { Errno, ERRNO } from "./errno.js";
import { FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, RIGHTS } from "./constants.js";
import { need } from "./fd-table.js";
import { guestPathAt } from "./paths.js";
import { I, i32s, L, wasiInterface } from "./interface.js";
import { linkFunctions } from "./links.js";
import type { WasiEnv, WasiImport } from "./state.js";

/**
 * The guest side of symlinks, hard links, file times, fd_allocate and sockets (links.ts is the
 * live side). What follows from the fd table and the arguments alone (bad fds, missing rights,
 * conflicting flags) is answered here without a journal entry.
 */
type LinkImport =
  | "path_symlink"
  | "path_readlink"
  | "path_link"
  | "path_filestat_set_times"
  | "fd_filestat_set_times"
  | "fd_allocate"
  | "sock_shutdown"
  | "sock_accept"
  | "sock_recv"
  | "sock_send";

function linkImports(env: WasiEnv): Record<LinkImport, WasiImport> {
  const { mem, dispatcher, table, grants } = env;

  const path = (dirfd: number, ptr: number, len: number, right: bigint) => {
    const at = guestPathAt(table, grants, dirfd, mem.string(ptr, len >>> 0));
    need(table.require(dirfd), right);
    return at.path;
  };

  /** ATIM with ATIM_NOW (or MTIM with MTIM_NOW) is EINVAL, as are unknown bits. */
  const checkTimes = (flags: number): void => {
    if (flags & ~0xf) throw new Errno(ERRNO.EINVAL);
    if (flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) throw new Errno(ERRNO.EINVAL);
    if (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW) throw new Errno(ERRNO.EINVAL);
  };

  const path_symlink = (oldPtr: number, oldLen: number, dirfd: number, newPtr: number, newLen: number): Result => {
    const target = mem.string(oldPtr, oldLen >>> 0);
    if (target === null || target.includes("\0")) return ERRNO.EINVAL;
    const at = path(dirfd, newPtr, newLen, RIGHTS.PATH_SYMLINK);
    return journaled(dispatcher, "wasi.path_symlink", encode({ target, path: at }), () => ERRNO.ESUCCESS);
  };

  const path_readlink = (dirfd: number, ptr: number, len: number, buf: number, bufLen: number, bufused: number): Result => {
    mem.check(bufused, 4);
    mem.check(buf, bufLen >>> 0);
    const at = path(dirfd, ptr, len, RIGHTS.PATH_READLINK);
    return journaled(dispatcher, "wasi.path_readlink", encode({ path: at }), (v) => {
      // A buffer too small gets the start of the content, as wasmtime does.
      const content = asBytes(v).subarray(0, bufLen >>> 0);
      mem.write(buf, content);
      mem.setU32(bufused, content.length);
      return ERRNO.ESUCCESS;
    });
  };

  const path_link = (
    oldFd: number,
    oldFlags: number,
    oldPtr: number,
    oldLen: number,
    newFd: number,
    newPtr: number,
    newLen: number,
  ): Result => {
    const from = path(oldFd, oldPtr, oldLen, RIGHTS.PATH_LINK_SOURCE);
    const to = path(newFd, newPtr, newLen, RIGHTS.PATH_LINK_TARGET);
    // Linking what a symlink points to would need resolving it first; POSIX leaves it open, and
    // wasmtime refuses it too.
    if (oldFlags & LOOKUP_SYMLINK_FOLLOW) return ERRNO.EINVAL;
    return journaled(dispatcher, "wasi.path_link", encode({ from, to }), () => ERRNO.ESUCCESS);
  };

  const path_filestat_set_times = (
    dirfd: number,
    flags: number,
    ptr: number,
    len: number,
    atim: bigint,
    mtim: bigint,
    fst: number,
  ): Result => {
    const at = path(dirfd, ptr, len, RIGHTS.PATH_FILESTAT_SET_TIMES);
    checkTimes(fst);
    const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
    const request = { path: at, follow, atim: atim.toString(), mtim: mtim.toString(), flags: fst };
    return journaled(dispatcher, "wasi.path_filestat_set_times", encode(request), () => ERRNO.ESUCCESS);
  };

  const fd_filestat_set_times = (fd: number, atim: bigint, mtim: bigint, fst: number): Result => {
    const e = table.require(fd);
    checkTimes(fst);
    if (e.kind !== "file" && e.kind !== "dir") return ERRNO.EBADF;
    need(e, RIGHTS.FD_FILESTAT_SET_TIMES);
    const request = { fd, follow: true, atim: atim.toString(), mtim: mtim.toString(), flags: fst };
    return journaled(dispatcher, "wasi.fd_filestat_set_times", encode(request), () => ERRNO.ESUCCESS);
  };

  /** Preallocation is not offered (wasmtime answers the same): ENOTSUP for a file. */
  const fd_allocate = (fd: number): number => {
    const e = table.require(fd);
    if (e.kind === "dir") return ERRNO.EISDIR;
    if (e.kind !== "file") return ERRNO.EBADF;
    return ERRNO.ENOTSUP;
  };

  /** A run has no sockets: an fd that is open is not one (ENOTSOCK), any other is EBADF. */
  const sock = (fd: number): number => (table.get(fd) ? ERRNO.ENOTSOCK : ERRNO.EBADF);

  return {
    path_symlink,
    path_readlink,
    path_link,
    path_filestat_set_times,
    fd_filestat_set_times,
    fd_allocate,
    sock_shutdown: sock,
    sock_accept: sock,
    sock_recv: sock,
    sock_send: sock,
  };
}

/** Symlinks, hard links, file times, fd_allocate and sockets (a run has none). */
export const linksInterface = wasiInterface({
  name: "links",
  imports: {
    path_symlink: { params: i32s(5), ops: ["wasi.path_symlink"] },
    path_readlink: { params: i32s(6), ops: ["wasi.path_readlink"] },
    path_link: { params: i32s(7), ops: ["wasi.path_link"] },
    path_filestat_set_times: { params: [I, I, I, I, L, L, I], ops: ["wasi.path_filestat_set_times"] },
    fd_filestat_set_times: { params: [I, L, L, I], ops: ["wasi.fd_filestat_set_times"] },
    fd_allocate: { params: [I, L, L], ops: [] },
    sock_shutdown: { params: i32s(2), ops: [] },
    sock_accept: { params: i32s(3), ops: [] },
    sock_recv: { params: i32s(6), ops: [] },
    sock_send: { params: i32s(5), ops: [] },
  },
  guest: linkImports,
  host: linkFunctions,
});
