import { constants, fstatSync, readFileSync, readdirSync, writeFileSync, type BigIntStats } from "node:fs";
import { GuestVisibleError } from "../engine/kernel/errors.js";
import type { Grants } from "../engine/kernel/grants.js";
import type { HostFunction } from "../engine/kernel/host-function.js";
import { RequestFields } from "./request-fields.js";
import { abiFs, resolveGuestPath } from "./fs-sandbox.js";
import { fdPath } from "./confined-root.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND } = constants;

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

function typeOf(s: BigIntStats): string {
  return s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : "other";
}

/** The size of the file at `path`, -1 when there is none (recovery of `fs.append`). */
function sizeOrMissing(grants: Grants, path: string): number {
  return abiFs(path, () => {
    const { root, rel } = resolveGuestPath(grants, path, true);
    const s = root.statOrNull(rel, true);
    return s === null ? -1 : Number(s.size);
  });
}

/** `fs.read`: the file's content is journaled, so a replay never depends on the file as it is now. */
export const fsRead: HostFunction<PathRequest> = {
  name: "fs.read",
  kind: "read",
  parse: (r) => pathRequest("fs.read", r),
  perform(ctx, req) {
    return abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, false);
      return root.withOpen(rel, O_RDONLY, { follow: true, type: "file" }, (fd) => {
        if (fstatSync(fd).size > MAX_FILE_READ)
          throw new GuestVisibleError("invalid", `'${req.path}' is over ${MAX_FILE_READ} bytes; read it in parts`);
        return new Uint8Array(readFileSync(fd));
      });
    });
  },
};

/** `fs.write`: creates or truncates; idempotent, so an interrupted write is simply done again. */
export const fsWrite: HostFunction<WriteRequest> = {
  name: "fs.write",
  kind: "effect",
  redoSafe: () => true,
  parse: (r) => writeRequest("fs.write", r),
  perform(ctx, req) {
    abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, true);
      root.withOpen(rel, O_WRONLY | O_CREAT | O_TRUNC, { follow: true, type: "file" }, (fd) => writeFileSync(fd, req.data));
    });
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
    return { size: sizeOrMissing(ctx.grants, req.path) };
  },
  recover(ctx, req, intent) {
    const before = (intent as { size?: number } | null)?.size;
    if (typeof before !== "number") return "redo";
    const now = sizeOrMissing(ctx.grants, req.path);
    const grown = before < 0 ? now : now - before;
    return grown === req.data.length ? { done: undefined } : "redo";
  },
  perform(ctx, req) {
    abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, true);
      root.withOpen(rel, O_WRONLY | O_CREAT | O_APPEND, { follow: true, type: "file" }, (fd) => writeFileSync(fd, req.data));
    });
    return undefined;
  },
};

export const fsList: HostFunction<PathRequest> = {
  name: "fs.list",
  kind: "read",
  parse: (r) => pathRequest("fs.list", r),
  perform(ctx, req) {
    return abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, false);
      return root
        .withOpen(rel, O_RDONLY, { follow: true, type: "dir" }, (fd) => readdirSync(fdPath(fd), { withFileTypes: true }))
        .map((d) => ({ name: d.name, type: d.isFile() ? "file" : d.isDirectory() ? "dir" : d.isSymbolicLink() ? "symlink" : "other" }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  },
};

export const fsStat: HostFunction<PathRequest> = {
  name: "fs.stat",
  kind: "read",
  parse: (r) => pathRequest("fs.stat", r),
  perform(ctx, req) {
    return abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, false);
      const s = root.stat(rel, true);
      return { type: typeOf(s), size: s.size, mtime_ms: s.mtimeMs };
    });
  },
};

/** `fs.remove`: idempotent; removing what is already gone after a crash is not an error on redo. */
export const fsRemove: HostFunction<PathRequest> = {
  name: "fs.remove",
  kind: "effect",
  redoSafe: () => true,
  parse: (r) => pathRequest("fs.remove", r),
  perform(ctx, req) {
    abiFs(req.path, () => {
      const { root, rel } = resolveGuestPath(ctx.grants, req.path, true);
      if (rel === "") throw new GuestVisibleError("denied", `'${req.path}' is a granted directory; it cannot be removed`);
      root.remove(rel, req.recursive);
    });
    return undefined;
  },
};
