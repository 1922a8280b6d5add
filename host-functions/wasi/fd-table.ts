import type { Grants } from "../../engine/kernel/grants.js";
import { Errno, ERRNO } from "./errno.js";
import { DIRECTORY_RIGHTS, FILE_RIGHTS, FILETYPE, STDIN_RIGHTS, STDOUT_RIGHTS } from "./constants.js";

export type FdKind = "stdin" | "stdout" | "stderr" | "dir" | "file";

/**
 * One open descriptor as the guest sees it. Deterministic: built only from the run's config and
 * from requests and (journaled) results of earlier calls, so a replay rebuilds the same table
 * without touching the disk. Host handles live elsewhere (handles.ts) and only in live execution.
 */
export interface FdEntry {
  kind: FdKind;
  /** Normalized absolute guest path ("" for stdio). */
  guest: string;
  /** Index in grants.dirs of the preopen this fd was reached through (-1 for stdio). */
  grant: number;
  preopen: boolean;
  /** Current offset: into the run's input for stdin, into the file for files. */
  offset: number;
  fdflags: number;
  /** The mode the host handle is opened with (rights can only narrow what it allows). */
  read: boolean;
  write: boolean;
  /** WASI rights: enforced by the imports, narrowed by fd_fdstat_set_rights, never widened. */
  rightsBase: bigint;
  rightsInheriting: bigint;
}

/** Number of the first descriptor after stdio; preopens follow in grant order. */
export const FIRST_PREOPEN = 3;

/**
 * Descriptors a run may have open at once, stdio and preopens included (docs/security.md): a
 * `path_open` past it is EMFILE, so one run cannot take the process's descriptors.
 */
export const MAX_OPEN_FDS = 256;

export class FdTable {
  private readonly fds = new Map<number, FdEntry>();

  constructor(grants: Grants) {
    const stdio = (kind: FdKind, rights: bigint, read: boolean): FdEntry => ({
      kind,
      guest: "",
      grant: -1,
      preopen: false,
      offset: 0,
      fdflags: 0,
      read,
      write: !read,
      rightsBase: rights,
      rightsInheriting: 0n,
    });
    this.fds.set(0, stdio("stdin", STDIN_RIGHTS, true));
    this.fds.set(1, stdio("stdout", STDOUT_RIGHTS, false));
    this.fds.set(2, stdio("stderr", STDOUT_RIGHTS, false));
    grants.dirs.forEach((g, i) => {
      this.fds.set(FIRST_PREOPEN + i, {
        kind: "dir",
        guest: g.guest,
        grant: i,
        preopen: true,
        offset: 0,
        fdflags: 0,
        read: true,
        write: !g.readonly,
        // Directory rights only (no read, write or seek); what is opened under it may get file rights.
        rightsBase: DIRECTORY_RIGHTS,
        rightsInheriting: DIRECTORY_RIGHTS | FILE_RIGHTS,
      });
    });
  }

  get(fd: number): FdEntry | undefined {
    return this.fds.get(fd);
  }

  /** How many descriptors are open. */
  get size(): number {
    return this.fds.size;
  }

  /** The entry, or EBADF for the guest. */
  require(fd: number): FdEntry {
    const e = this.fds.get(fd);
    if (!e) throw new Errno(ERRNO.EBADF);
    return e;
  }

  /** The descriptor the next open gets: the lowest free number from 3, like POSIX. */
  next(): number {
    let fd = FIRST_PREOPEN;
    while (this.fds.has(fd)) fd++;
    return fd;
  }

  set(fd: number, entry: FdEntry): void {
    this.fds.set(fd, entry);
  }

  delete(fd: number): boolean {
    return this.fds.delete(fd);
  }
}

export function filetypeOf(kind: FdKind): number {
  return kind === "dir" ? FILETYPE.DIRECTORY : kind === "file" ? FILETYPE.REGULAR_FILE : FILETYPE.CHARACTER_DEVICE;
}

/** Throws ENOTCAPABLE unless the descriptor holds `right`. */
export function need(e: FdEntry, right: bigint): void {
  if ((e.rightsBase & right) === 0n) throw new Errno(ERRNO.ENOTCAPABLE);
}
