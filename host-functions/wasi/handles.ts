import { closeSync, constants, fsyncSync } from "node:fs";
import type { Grants } from "../../engine/kernel/grants.js";
import type { FdEntry } from "./fd-table.js";
import { confinedPath } from "./paths.js";
import { FsError, fsErrorOf } from "../fs-error.js";

/** The host open(2) mode for a file fd with these rights; never creates or truncates. */
export function openMode(read: boolean, write: boolean): number {
  return write ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
}

interface Handle {
  fd: number;
  /** Opened for writing: false for a read-only fd, and for a write fd reopened under a grant now read-only. */
  writable: boolean;
}

/**
 * Host file descriptors of a run's open files, live execution only. A file opened by a live
 * `path_open` keeps the handle it was opened with; a file whose open was replayed from the journal
 * is opened here on first live use, confined and checked against the grants in force now: after
 * `dwe resume … --dir D:G:ro` a write fd under G is reopened read-only and its writes are EROFS,
 * and an fd under a directory no longer granted is EBADF. So resuming never touches the disk for
 * the part of the run that is already journaled. All I/O is positional at the offset the fd table
 * tracks, so the host handle's own offset never matters.
 */
export class HostHandles {
  private readonly open = new Map<number, Handle>();

  constructor(private readonly grants: Grants) {}

  has(fd: number): boolean {
    return this.open.has(fd);
  }

  /** Hands over the host descriptor a live open produced for guest fd `fd`. */
  adopt(fd: number, hostFd: number, writable: boolean): void {
    this.close(fd);
    this.open.set(fd, { fd: hostFd, writable });
  }

  /** The host descriptor of file fd `fd`, for reading (fstat included) or writing. */
  get(fd: number, entry: FdEntry, want: "read" | "write"): number {
    let h = this.open.get(fd);
    if (h === undefined) {
      h = this.reopen(fd, entry);
      this.open.set(fd, h);
    }
    if (want === "write" && !h.writable) throw new FsError("EROFS", `'${entry.guest}' is in a directory granted read-only (:ro) now`);
    return h.fd;
  }

  private reopen(fd: number, entry: FdEntry): Handle {
    let c;
    try {
      c = confinedPath(this.grants, entry.guest, false);
    } catch {
      throw new FsError("EBADF", `fd ${fd} ('${entry.guest}') is in a directory that is no longer granted`);
    }
    const writable = entry.write && !c.readonly;
    try {
      const hostFd = c.root.open(c.rel, openMode(entry.read || !writable, writable), { follow: true, type: "file" });
      return { fd: hostFd, writable };
    } catch (err) {
      throw fsErrorOf(err, entry.guest);
    }
  }

  move(from: number, to: number): void {
    this.close(to);
    const h = this.open.get(from);
    this.open.delete(from);
    if (h !== undefined) this.open.set(to, h);
  }

  /** fsync when the file is open here; errors are ignored (the call is not journaled). */
  sync(fd: number): void {
    const h = this.open.get(fd);
    if (h === undefined) return;
    try {
      fsyncSync(h.fd);
    } catch {
      // A sync that fails cannot be reported deterministically; see docs/wasi.md.
    }
  }

  close(fd: number): void {
    const h = this.open.get(fd);
    if (h === undefined) return;
    this.open.delete(fd);
    try {
      closeSync(h.fd);
    } catch {
      // Already closed; nothing to release.
    }
  }

  closeAll(): void {
    for (const fd of [...this.open.keys()]) this.close(fd);
  }
}
