import { encode } from "../../engine/kernel/reply.js";
import { FS_ERRORS, p2ErrorCode } from "../fs-error.js";
import { Errno, errnoName } from "../wasi/errno.js";
import { FSTFLAGS } from "../wasi/constants.js";
import { guestPathUnder } from "../wasi/guest-paths.js";
import type { Datetime } from "./clocks.js";
import { asBig, hostCall, ResultError, type P2Env } from "./host.js";
import { p2Interface } from "./interface.js";
import { IoError, type InputStream, type IoTypes, type OutputStream } from "./io.js";

/**
 * wasi:filesystem (types, preopens), confined to the run's --dir grants. A descriptor is a guest
 * path plus what the guest may do with it; the disk is only touched by host operations:
 * `wasi.fs` reads (stat, open of an existing file, directory listing) and effects (create,
 * truncate, mkdir, unlink, rmdir, rename), `wasi.fd_read` (file data, journaled), `wasi.fd_write`
 * (a write at an offset, an effect) and `fs.append` (appends: checked, never appended twice).
 * Symlinks, hard links and set-times use preview1's host functions (wasi/links.ts) under `p2:`
 * names. Paths are joined as preview1's (wasi/paths.ts `guestPathUnder`: a trailing slash kept,
 * `..` never above the descriptor) and resolved on the host by ConfinedRoot.
 */

type DescriptorType = "unknown" | "directory" | "regular-file" | "symbolic-link" | "fifo" | "socket" | "character-device" | "block-device";

interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  mutateDirectory?: boolean;
}
interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}
interface PathFlags {
  symlinkFollow?: boolean;
}
type NewTimestamp = { tag: "no-change" } | { tag: "now" } | { tag: "timestamp"; val: Datetime };
interface HostStat {
  /** Device and inode (absent in journals written before dwe recorded them). */
  dev?: unknown;
  ino?: unknown;
  type: DescriptorType;
  size: unknown;
  nlink: unknown;
  atime: unknown;
  mtime: unknown;
  ctime: unknown;
}

let envOf: P2Env | null = null;
let ioOf: IoTypes | null = null;
function env(): P2Env {
  if (envOf === null) throw new Error("internal: wasi:filesystem used before filesystemImports()");
  return envOf;
}

function fail(code: string): never {
  throw new ResultError(code);
}

/** One host operation; an error reply becomes the guest's error-code. */
function fsCall(op: string, request: Record<string, unknown>): unknown {
  const r = hostCall(env(), op, encode(request));
  if (!r.ok) fail(p2ErrorCode(r.error.code));
  return r.value;
}

/** A preview1 Errno (from the shared path join) as the guest's error-code. */
function failErrno(err: unknown): never {
  if (err instanceof Errno) fail(FS_ERRORS[errnoName(err.errno)].p2);
  throw err;
}

/** set-times' two new-timestamps as preview1's `{atim, mtim, flags}` (times as decimal ns). */
function timesRequest(atime: NewTimestamp, mtime: NewTimestamp): { atim: string; mtim: string; flags: number } {
  const ns = (t: NewTimestamp) => (t.tag === "timestamp" ? t.val.seconds * 1_000_000_000n + BigInt(t.val.nanoseconds) : 0n);
  const flag = (t: NewTimestamp, set: number, now: number) => (t.tag === "timestamp" ? set : t.tag === "now" ? now : 0);
  return {
    atim: ns(atime).toString(),
    mtim: ns(mtime).toString(),
    flags: flag(atime, FSTFLAGS.ATIM, FSTFLAGS.ATIM_NOW) | flag(mtime, FSTFLAGS.MTIM, FSTFLAGS.MTIM_NOW),
  };
}

function datetime(ns: unknown): Datetime {
  const t = asBig(ns);
  return { seconds: t / 1_000_000_000n, nanoseconds: Number(t % 1_000_000_000n) };
}

export class Descriptor {
  constructor(
    /** Normalized absolute guest path. */
    readonly guest: string,
    /** The granted directory (guest path) this descriptor was reached through. */
    readonly root: string,
    private readonly type: DescriptorType,
    private readonly flags: DescriptorFlags,
  ) {}

  /**
   * What `path` names relative to this directory: `guest` normalized, `path` with a trailing
   * slash kept (sent to the host, where it asks for a directory). Never above this descriptor.
   */
  private at(path: string): { guest: string; path: string } {
    if (this.type !== "directory") fail("not-directory");
    try {
      return guestPathUnder(this.guest, this.root, path);
    } catch (err) {
      return failErrno(err);
    }
  }

  private needFile(): void {
    if (this.type === "directory") fail("is-directory");
  }

  readViaStream(offset: bigint): InputStream {
    this.needFile();
    if (!this.flags.read) fail("bad-descriptor");
    return ioOf!.fileInput(this.guest, offset);
  }
  writeViaStream(offset: bigint): OutputStream {
    this.needFile();
    if (!this.flags.write) fail("bad-descriptor");
    return ioOf!.fileOutput(this.guest, offset, false);
  }
  appendViaStream(): OutputStream {
    this.needFile();
    if (!this.flags.write) fail("bad-descriptor");
    return ioOf!.fileOutput(this.guest, 0n, true);
  }
  advise(): void {}
  syncData(): void {}
  sync(): void {}
  getFlags(): DescriptorFlags {
    return { ...this.flags };
  }
  getType(): DescriptorType {
    return this.type;
  }
  setSize(size: bigint): void {
    this.needFile();
    if (!this.flags.write) fail("bad-descriptor");
    fsCall("p2:wasi.fd_filestat_set_size", { path: this.guest, size: Number(size) });
  }
  setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
    fsCall("p2:wasi.path_filestat_set_times", { path: this.guest, follow: true, ...timesRequest(atime, mtime) });
  }
  setTimesAt(pathFlags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
    const at = this.at(path);
    fsCall("p2:wasi.path_filestat_set_times", { path: at.path, follow: pathFlags.symlinkFollow ?? false, ...timesRequest(atime, mtime) });
  }
  read(len: bigint, offset: bigint): [Uint8Array, boolean] {
    this.needFile();
    if (!this.flags.read) fail("bad-descriptor");
    const n = Number(len > 1048576n ? 1048576n : len);
    const bytes = fsCall("p2:wasi.fd_read", { path: this.guest, offset: Number(offset), len: n });
    const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(0);
    return [data, data.length < n];
  }
  write(buffer: Uint8Array, offset: bigint): bigint {
    this.needFile();
    if (!this.flags.write) fail("bad-descriptor");
    fsCall("p2:wasi.fd_pwrite", { path: this.guest, offset: Number(offset), data: buffer });
    return BigInt(buffer.length);
  }
  readDirectory(): DirectoryEntryStream {
    if (this.type !== "directory") fail("not-directory");
    const entries = fsCall("p2:wasi.fd_readdir", { path: this.guest });
    return new DirectoryEntryStream(Array.isArray(entries) ? (entries as { name: string; type: DescriptorType }[]) : []);
  }
  createDirectoryAt(path: string): void {
    fsCall("p2:wasi.path_create_directory", { path: this.at(path).path });
  }
  stat(): unknown {
    return toStat(this.statOf(this.guest, true));
  }
  statAt(pathFlags: PathFlags, path: string): unknown {
    return toStat(this.statOf(this.at(path).path, pathFlags.symlinkFollow ?? false));
  }
  /** One journaled stat; remembered for the metadata-hash that follows it (the adapter asks both). */
  private statOf(path: string, follow: boolean): HostStat {
    const s = fsCall("p2:wasi.path_filestat_get", { path, follow }) as HostStat;
    lastStat = { path, follow, stat: s };
    return s;
  }
  /** A hash of the file's device and inode: equal for two names of one file (hard links), as wasmtime. */
  private hashOf(path: string, follow: boolean): { lower: bigint; upper: bigint } {
    const s = lastStat !== null && lastStat.path === path && lastStat.follow === follow ? lastStat.stat : this.statOf(path, follow);
    // A stat journaled before dwe recorded inodes: the guest path, as then.
    if (s.ino === undefined) return hashText(path);
    return hashText(`${asBig(s.dev)}:${asBig(s.ino)}`);
  }
  /** A hard link `newPath` (under `newDescriptor`) to the file `oldPath` names; a symlink is never followed (as wasmtime). */
  linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    if (oldPathFlags.symlinkFollow) fail("invalid");
    fsCall("p2:wasi.path_link", { from: this.at(oldPath).path, to: newDescriptor.at(newPath).path });
  }
  /** A symlink `newPath` with content `oldPath`; content that would lead out of the grant is refused on the host. */
  symlinkAt(oldPath: string, newPath: string): void {
    fsCall("p2:wasi.path_symlink", { target: oldPath, path: this.at(newPath).path });
  }
  readlinkAt(path: string): string {
    const bytes = fsCall("p2:wasi.path_readlink", { path: this.at(path).path });
    return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(0)).toString("utf8");
  }
  openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
    const { guest, path: named } = this.at(path);
    const write = flags.write ?? false;
    const changes = openFlags.create || openFlags.truncate || openFlags.exclusive;
    const request = {
      path: named,
      follow: pathFlags.symlinkFollow ?? false,
      dir: openFlags.directory ?? false,
      write,
      ...(changes && { create: openFlags.create ?? false, excl: openFlags.exclusive ?? false, trunc: openFlags.truncate ?? false }),
    };
    const opened = fsCall(changes ? "p2:wasi.path_open_create" : "p2:wasi.path_open", request) as { type?: DescriptorType } | null;
    const type = opened?.type ?? "unknown";
    return new Descriptor(guest, this.root, type, { ...flags, mutateDirectory: type === "directory" && (flags.mutateDirectory ?? false) });
  }
  removeDirectoryAt(path: string): void {
    fsCall("p2:wasi.path_remove_directory", { path: this.at(path).path });
  }
  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    fsCall("p2:wasi.path_rename", { path: this.at(oldPath).path, to: newDescriptor.at(newPath).path });
  }
  unlinkFileAt(path: string): void {
    fsCall("p2:wasi.path_unlink_file", { path: this.at(path).path });
  }
  isSameObject(other: Descriptor): boolean {
    return other.guest === this.guest;
  }
  /** Deterministic (from the journaled stat); the same for two descriptors, or two names, of one file. */
  metadataHash(): { lower: bigint; upper: bigint } {
    return this.hashOf(this.guest, true);
  }
  metadataHashAt(pathFlags: PathFlags, path: string): { lower: bigint; upper: bigint } {
    return this.hashOf(this.at(path).path, pathFlags.symlinkFollow ?? false);
  }
}

function toStat(s: HostStat): unknown {
  return {
    type: s.type,
    linkCount: asBig(s.nlink),
    size: asBig(s.size),
    dataAccessTimestamp: datetime(s.atime),
    dataModificationTimestamp: datetime(s.mtime),
    statusChangeTimestamp: datetime(s.ctime),
  };
}

/** The last stat a descriptor made (deterministic: a journaled result). */
let lastStat: { path: string; follow: boolean; stat: HostStat } | null = null;

function hashText(path: string): { lower: bigint; upper: bigint } {
  let a = 0xcbf29ce484222325n;
  let b = 0x84222325cbf29ce4n;
  const mask = (1n << 64n) - 1n;
  for (const byte of new TextEncoder().encode(path)) {
    a = ((a ^ BigInt(byte)) * 0x100000001b3n) & mask;
    b = ((b ^ BigInt(byte)) * 0x100000001b3n + 1n) & mask;
  }
  return { lower: a, upper: b };
}

export class DirectoryEntryStream {
  private next = 0;
  constructor(private readonly entries: { name: string; type: DescriptorType }[]) {}
  readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
    const e = this.entries[this.next++];
    return e && { type: e.type, name: e.name };
  }
}

function filesystemImports(p2: P2Env, io: IoTypes): Record<string, Record<string, unknown>> {
  envOf = p2;
  ioOf = io;
  const preopens = (): [Descriptor, string][] =>
    p2.grants.dirs.map((d) => [
      new Descriptor(d.guest, d.guest, "directory", { read: true, write: !d.readonly, mutateDirectory: !d.readonly }),
      d.guest,
    ]);
  return {
    "wasi:filesystem/preopens": { getDirectories: preopens },
    "wasi:filesystem/types": {
      Descriptor,
      DirectoryEntryStream,
      filesystemErrorCode: (err: unknown) => (err instanceof IoError ? err.code : undefined),
    },
  };
}

/**
 * wasi:filesystem: every call that reads or changes the disk is one of these ops, answered by
 * wasi-p2/fs-host.ts and preview1's links.ts on the engine's thread.
 */
export const filesystemInterface = p2Interface({
  names: ["wasi:filesystem/preopens", "wasi:filesystem/types"],
  ops: [
    "p2:wasi.path_open",
    "p2:wasi.path_open_create",
    "p2:wasi.path_filestat_get",
    "p2:wasi.fd_readdir",
    "p2:wasi.fd_read",
    "p2:wasi.fd_pwrite",
    "p2:wasi.fd_filestat_set_size",
    "p2:wasi.path_create_directory",
    "p2:wasi.path_remove_directory",
    "p2:wasi.path_unlink_file",
    "p2:wasi.path_rename",
    "p2:wasi.path_symlink",
    "p2:wasi.path_readlink",
    "p2:wasi.path_link",
    "p2:wasi.path_filestat_set_times",
  ],
  imports: filesystemImports,
});
