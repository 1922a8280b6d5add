import { posix } from "node:path";
import { encode } from "../../engine/kernel/reply.js";
import { MAX_PATH_BYTES } from "../confined-root.js";
import type { Datetime } from "./clocks.js";
import { asBig, hostCall, ResultError, type P2Env } from "./host.js";
import { fsErrorCode, IoError, type InputStream, type IoTypes, type OutputStream } from "./io.js";

/**
 * wasi:filesystem (types, preopens), confined to the run's --dir grants. A descriptor is a guest
 * path plus what the guest may do with it; the disk is only touched by host operations:
 * `wasi.fs` reads (stat, open of an existing file, directory listing) and effects (create,
 * truncate, mkdir, unlink, rmdir, rename), `wasi.fd_read` (file data, journaled), `wasi.fd_write`
 * (a write at an offset, an effect) and `fs.append` (appends: checked, never appended twice).
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
interface HostStat {
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
  if (!r.ok) fail(fsErrorCode(r.error.code));
  return r.value;
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

  /** The absolute guest path `path` names relative to this directory; never outside its grant. */
  private at(path: string): string {
    if (this.type !== "directory") fail("not-directory");
    if (path.length > MAX_PATH_BYTES) fail("name-too-long");
    if (path.startsWith("/") || path.includes("\0")) fail("not-permitted");
    let guest = posix.normalize(posix.join(this.guest, path === "" ? "." : path));
    if (guest.length > 1 && guest.endsWith("/")) guest = guest.slice(0, -1);
    if (!(guest === this.root || this.root === "/" || guest.startsWith(this.root + "/"))) fail("not-permitted");
    return guest;
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
  setTimes(): void {
    fail("unsupported");
  }
  setTimesAt(): void {
    fail("unsupported");
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
    fsCall("p2:wasi.path_create_directory", { path: this.at(path) });
  }
  stat(): unknown {
    return toStat(fsCall("p2:wasi.path_filestat_get", { path: this.guest, follow: true }) as HostStat);
  }
  statAt(pathFlags: { symlinkFollow?: boolean }, path: string): unknown {
    return toStat(fsCall("p2:wasi.path_filestat_get", { path: this.at(path), follow: pathFlags.symlinkFollow ?? false }) as HostStat);
  }
  linkAt(): void {
    fail("unsupported");
  }
  symlinkAt(): void {
    fail("unsupported");
  }
  readlinkAt(): string {
    return fail("invalid");
  }
  openAt(_pathFlags: unknown, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
    const guest = this.at(path);
    const write = flags.write ?? false;
    const changes = openFlags.create || openFlags.truncate || openFlags.exclusive;
    const request = {
      path: guest,
      dir: openFlags.directory ?? false,
      write,
      ...(changes && { create: openFlags.create ?? false, excl: openFlags.exclusive ?? false, trunc: openFlags.truncate ?? false }),
    };
    const opened = fsCall(changes ? "p2:wasi.path_open_create" : "p2:wasi.path_open", request) as { type?: DescriptorType } | null;
    const type = opened?.type ?? "unknown";
    return new Descriptor(guest, this.root, type, { ...flags, mutateDirectory: type === "directory" && (flags.mutateDirectory ?? false) });
  }
  removeDirectoryAt(path: string): void {
    fsCall("p2:wasi.path_remove_directory", { path: this.at(path) });
  }
  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    fsCall("p2:wasi.path_rename", { path: this.at(oldPath), to: newDescriptor.at(newPath) });
  }
  unlinkFileAt(path: string): void {
    fsCall("p2:wasi.path_unlink_file", { path: this.at(path) });
  }
  isSameObject(other: Descriptor): boolean {
    return other.guest === this.guest;
  }
  /** A hash of the guest path: deterministic, and the same for two descriptors of one file. */
  metadataHash(): { lower: bigint; upper: bigint } {
    return hashPath(this.guest);
  }
  metadataHashAt(_pathFlags: unknown, path: string): { lower: bigint; upper: bigint } {
    return hashPath(this.at(path));
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

function hashPath(path: string): { lower: bigint; upper: bigint } {
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

export function filesystemImports(p2: P2Env, io: IoTypes): Record<string, Record<string, unknown>> {
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
