// Files, in guest paths under directories granted with `--dir HOST[:GUEST][:ro]`.
//
// Each operation has a `try` form returning the host's error (`denied`, `not_found`, `io`, ...)
// and a plain form that fails the run on error.

import { tryCall, tryCallMsg, failWith, Result, DweError } from "./abi";
import { Msg, MsgKind, MsgMap, MsgValue } from "./msgpack";

function pathReq(path: string): MsgMap {
  return Msg.map().set("path", Msg.str(path));
}

function failIf(e: DweError | null): void {
  if (e !== null) failWith(e);
}

/** Reads a whole file. Op `fs.read`. */
export function tryReadFile(path: string): Result<Uint8Array> {
  const r = tryCallMsg("fs.read", pathReq(path));
  if (!r.ok) return Result.failure<Uint8Array>(r.error!);
  return Result.success<Uint8Array>(r.value.asBytes());
}

/** Reads a whole file; fails the run on error. */
export function readFile(path: string): Uint8Array { return tryReadFile(path).value; }

/** Reads a whole file as UTF-8 text; fails the run on error. */
export function readTextFile(path: string): string {
  const b = readFile(path);
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

/** Creates or truncates a file with `data`; returns the host's error or null. Op `fs.write`. */
export function tryWriteFile(path: string, data: Uint8Array): DweError | null {
  return tryCall("fs.write", pathReq(path).set("data", Msg.bin(data)).encode()).error;
}

/** Creates or truncates a file with `data`; fails the run on error. */
export function writeFile(path: string, data: Uint8Array): void { failIf(tryWriteFile(path, data)); }

/** Creates or truncates a file with the UTF-8 bytes of `text`; fails the run on error. */
export function writeTextFile(path: string, text: string): void {
  writeFile(path, Uint8Array.wrap(String.UTF8.encode(text)));
}

/** Appends `data` to a file (created if missing); returns the host's error or null. Op `fs.append`. */
export function tryAppendFile(path: string, data: Uint8Array): DweError | null {
  return tryCall("fs.append", pathReq(path).set("data", Msg.bin(data)).encode()).error;
}

/** Appends `data` to a file; fails the run on error. */
export function appendFile(path: string, data: Uint8Array): void { failIf(tryAppendFile(path, data)); }

/** Appends the UTF-8 bytes of `text` to a file; fails the run on error. */
export function appendTextFile(path: string, text: string): void {
  appendFile(path, Uint8Array.wrap(String.UTF8.encode(text)));
}

/** An entry of a directory listing. */
export class DirEntry {
  constructor(
    /** The entry's name (not a path). */
    public name: string,
    /** `file`, `dir`, `symlink` or `other`. */
    public type: string,
  ) {}
}

/** Lists a directory, sorted by name. Op `fs.list`. */
export function tryListDir(path: string): Result<DirEntry[]> {
  const r = tryCallMsg("fs.list", pathReq(path));
  if (!r.ok) return Result.failure<DirEntry[]>(r.error!);
  const v = r.value;
  const items: MsgValue[] = v.kind == MsgKind.Nil ? new Array<MsgValue>(0) : v.asArray();
  const out = new Array<DirEntry>(0);
  for (let i = 0; i < items.length; i++) {
    const m = items[i].asMap();
    out.push(new DirEntry(m.getString("name"), m.getString("type")));
  }
  return Result.success<DirEntry[]>(out);
}

/** Lists a directory; fails the run on error. */
export function listDir(path: string): DirEntry[] { return tryListDir(path).value; }

/** File metadata. */
export class FileStat {
  constructor(
    /** `file`, `dir`, `symlink` or `other`. */
    public type: string,
    /** Size in bytes. */
    public size: i64,
    /** Modification time, ms since the Unix epoch. */
    public mtimeMs: i64,
  ) {}
}

/** Metadata of a path (error `not_found` if it does not exist). Op `fs.stat`. */
export function tryStat(path: string): Result<FileStat> {
  const r = tryCallMsg("fs.stat", pathReq(path));
  if (!r.ok) return Result.failure<FileStat>(r.error!);
  const m = r.value.asMap();
  return Result.success<FileStat>(new FileStat(m.getString("type"), m.getI64("size"), m.getI64("mtime_ms")));
}

/** Metadata of a path; fails the run on error. */
export function stat(path: string): FileStat { return tryStat(path).value; }

/** True if `path` exists; fails the run on errors other than `not_found`. */
export function exists(path: string): bool {
  const r = tryStat(path);
  if (r.ok) return true;
  const e = r.error!;
  if (e.code == "not_found") return false;
  failWith(e);
  return false;
}

/** Removes a file, or a directory (`recursive` for a non-empty one). Op `fs.remove`. */
export function tryRemove(path: string, recursive: bool = false): DweError | null {
  const req = pathReq(path);
  if (recursive) req.set("recursive", Msg.bool(true));
  return tryCall("fs.remove", req.encode()).error;
}

/** Removes a file or directory; fails the run on error. */
export function remove(path: string, recursive: bool = false): void { failIf(tryRemove(path, recursive)); }
