import { appendFileSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { GuestVisibleError } from "../engine/errors.js";
import type { HostFunction } from "./types.js";
import { RequestFields } from "./request-fields.js";
import { fsError, resolveGuestPath } from "./fs-sandbox.js";

export const MAX_FILE_READ = 64 * 1024 * 1024;

interface PathRequest {
  path: string;
  recursive: boolean;
}
interface WriteRequest {
  path: string;
  data: Uint8Array;
}

function pathRequest(op: string, request: unknown): PathRequest {
  const f = new RequestFields(op, request);
  return { path: f.str("path"), recursive: f.bool("recursive") };
}

function writeRequest(op: string, request: unknown): WriteRequest {
  const f = new RequestFields(op, request);
  return { path: f.str("path"), data: f.bytes("data") };
}

function typeOf(s: Stats): string {
  return s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : "other";
}

function sizeOrMissing(host: string): number {
  try {
    return statSync(host).size;
  } catch {
    return -1;
  }
}

/** `fs.read`: the file's content is journaled, so a replay never depends on the file as it is now. */
export const fsRead: HostFunction<PathRequest> = {
  name: "fs.read",
  kind: "read",
  parse: (r) => pathRequest("fs.read", r),
  perform(ctx, req) {
    const { host } = resolveGuestPath(ctx.grants, req.path, false);
    let size: number;
    try {
      size = statSync(host).size;
    } catch (err) {
      throw fsError(err, req.path);
    }
    if (size > MAX_FILE_READ) throw new GuestVisibleError("invalid", `'${req.path}' is over ${MAX_FILE_READ} bytes; read it in parts`);
    try {
      return new Uint8Array(readFileSync(host));
    } catch (err) {
      throw fsError(err, req.path);
    }
  },
};

/** `fs.write`: creates or truncates; idempotent, so an interrupted write is simply done again. */
export const fsWrite: HostFunction<WriteRequest> = {
  name: "fs.write",
  kind: "effect",
  parse: (r) => writeRequest("fs.write", r),
  perform(ctx, req) {
    const { host } = resolveGuestPath(ctx.grants, req.path, true);
    try {
      writeFileSync(host, req.data);
    } catch (err) {
      throw fsError(err, req.path);
    }
    return undefined;
  },
};

/**
 * `fs.append`: the file's size is committed with the intent; after a crash, a file that already
 * grew by exactly the data's length is taken as appended, so the data is not appended twice.
 */
export const fsAppend: HostFunction<WriteRequest> = {
  name: "fs.append",
  kind: "effect",
  parse: (r) => writeRequest("fs.append", r),
  intent(ctx, req) {
    return { size: sizeOrMissing(resolveGuestPath(ctx.grants, req.path, true).host) };
  },
  recover(ctx, req, intent) {
    const before = (intent as { size?: number } | null)?.size;
    if (typeof before !== "number") return "redo";
    const now = sizeOrMissing(resolveGuestPath(ctx.grants, req.path, true).host);
    const grown = before < 0 ? now : now - before;
    return grown === req.data.length ? { done: undefined } : "redo";
  },
  perform(ctx, req) {
    const { host } = resolveGuestPath(ctx.grants, req.path, true);
    try {
      appendFileSync(host, req.data);
    } catch (err) {
      throw fsError(err, req.path);
    }
    return undefined;
  },
};

export const fsList: HostFunction<PathRequest> = {
  name: "fs.list",
  kind: "read",
  parse: (r) => pathRequest("fs.list", r),
  perform(ctx, req) {
    const { host } = resolveGuestPath(ctx.grants, req.path, false);
    try {
      return readdirSync(host, { withFileTypes: true })
        .map((d) => ({ name: d.name, type: d.isFile() ? "file" : d.isDirectory() ? "dir" : d.isSymbolicLink() ? "symlink" : "other" }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw fsError(err, req.path);
    }
  },
};

export const fsStat: HostFunction<PathRequest> = {
  name: "fs.stat",
  kind: "read",
  parse: (r) => pathRequest("fs.stat", r),
  perform(ctx, req) {
    const { host } = resolveGuestPath(ctx.grants, req.path, false);
    try {
      const s = statSync(host);
      return { type: typeOf(s), size: BigInt(s.size), mtime_ms: BigInt(Math.floor(s.mtimeMs)) };
    } catch (err) {
      throw fsError(err, req.path);
    }
  },
};

/** `fs.remove`: idempotent; removing what is already gone after a crash is not an error on redo. */
export const fsRemove: HostFunction<PathRequest> = {
  name: "fs.remove",
  kind: "effect",
  parse: (r) => pathRequest("fs.remove", r),
  perform(ctx, req) {
    const { host, grant } = resolveGuestPath(ctx.grants, req.path, true);
    if (host === grant.host) throw new GuestVisibleError("denied", `'${req.path}' is a granted directory; it cannot be removed`);
    try {
      statSync(host);
      rmSync(host, { recursive: req.recursive });
    } catch (err) {
      throw fsError(err, req.path);
    }
    return undefined;
  },
};
