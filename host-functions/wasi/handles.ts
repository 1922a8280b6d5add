import { closeSync, constants, fsyncSync, openSync } from "node:fs";
import type { Grants } from "../../engine/executor/grants.js";
import type { FdEntry } from "./fd-table.js";
import { hostPath } from "./paths.js";
import { toWasiError } from "./errno.js";

/** The host open(2) mode for a file fd with these rights; never creates or truncates. */
export function openMode(read: boolean, write: boolean): number {
  return write ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
}

/**
 * Host file descriptors of a run's open files, live execution only. A file opened by a live
 * `path_open` keeps the handle it was opened with; a file whose open was replayed from the journal
 * is opened here on first live use (confined again), so resuming never touches the disk for the
 * part of the run that is already journaled. All I/O is positional at the offset the fd table
 * tracks, so the host handle's own offset never matters.
 */
export class HostHandles {
  private readonly open = new Map<number, number>();

  constructor(private readonly grants: Grants) {}

  has(fd: number): boolean {
    return this.open.has(fd);
  }

  /** Hands over the host descriptor a live open produced for guest fd `fd`. */
  adopt(fd: number, hostFd: number): void {
    this.close(fd);
    this.open.set(fd, hostFd);
  }

  get(fd: number, entry: FdEntry): number {
    const h = this.open.get(fd);
    if (h !== undefined) return h;
    const host = hostPath(this.grants, entry.guest, false);
    let opened: number;
    try {
      opened = openSync(host, openMode(entry.read, entry.write));
    } catch (err) {
      throw toWasiError(err, entry.guest);
    }
    this.open.set(fd, opened);
    return opened;
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
      fsyncSync(h);
    } catch {
      // A sync that fails cannot be reported deterministically; see docs/wasi.md.
    }
  }

  close(fd: number): void {
    const h = this.open.get(fd);
    if (h === undefined) return;
    this.open.delete(fd);
    try {
      closeSync(h);
    } catch {
      // Already closed; nothing to release.
    }
  }

  closeAll(): void {
    for (const fd of [...this.open.keys()]) this.close(fd);
  }
}
