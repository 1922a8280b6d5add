import { GuestVisibleError } from "../../engine/kernel/errors.js";
import { ConfinedPathError } from "../confined-root.js";

/** WASI preview1 errno values (the subset dwe returns), by name. */
export const ERRNO = {
  ESUCCESS: 0,
  E2BIG: 1,
  EACCES: 2,
  EAGAIN: 6,
  EBADF: 8,
  EBUSY: 10,
  EEXIST: 20,
  EFAULT: 21,
  EFBIG: 22,
  EILSEQ: 25,
  EINVAL: 28,
  EIO: 29,
  EISDIR: 31,
  ELOOP: 32,
  EMFILE: 33,
  ENAMETOOLONG: 37,
  ENOENT: 44,
  ENOMEM: 48,
  ENOSPC: 51,
  ENOSYS: 52,
  ENOTDIR: 54,
  ENOTEMPTY: 55,
  ENOTSOCK: 57,
  ENOTSUP: 58,
  EOVERFLOW: 61,
  EPERM: 63,
  EROFS: 69,
  ESPIPE: 70,
  EXDEV: 75,
  ENOTCAPABLE: 76,
} as const;
export type ErrnoName = keyof typeof ERRNO;

/**
 * A WASI error handed to the guest as an errno. It is a GuestVisibleError so that, thrown by a
 * host function's `perform`, the dispatcher journals it as an error reply `{code: "ENOENT", …}`
 * and replay returns the same errno without touching the disk.
 */
export class WasiError extends GuestVisibleError {
  override name = "WasiError";
  constructor(code: ErrnoName, message: string) {
    super(code, message);
  }
  get errno(): number {
    return ERRNO[this.code as ErrnoName];
  }
}

/** Guest-visible codes of the `dwe` ABI (e.g. from fs-sandbox) mapped to errno names. */
const ABI_CODES: Record<string, ErrnoName> = {
  denied: "ENOTCAPABLE",
  not_found: "ENOENT",
  invalid: "EINVAL",
  io: "EIO",
};

/** Node's errno codes that have a WASI errno of the same name; anything else is EIO. */
const NODE_CODES = new Set<string>([
  "EACCES",
  "EAGAIN",
  "EBADF",
  "EBUSY",
  "EEXIST",
  "EFBIG",
  "EINVAL",
  "EIO",
  "EISDIR",
  "ELOOP",
  "EMFILE",
  "ENAMETOOLONG",
  "ENOENT",
  "ENOMEM",
  "ENOSPC",
  "ENOTDIR",
  "ENOTEMPTY",
  "ENOTSUP",
  "EPERM",
  "EROFS",
  "ESPIPE",
  "EXDEV",
]);

/** Turns what a host file operation threw into a WasiError (or rethrows a host bug). */
export function toWasiError(err: unknown, path: string): WasiError {
  if (err instanceof WasiError) return err;
  if (err instanceof ConfinedPathError) return new WasiError(err.wasiCode, err.message);
  if (err instanceof GuestVisibleError) return new WasiError(ABI_CODES[err.code] ?? "EIO", err.message);
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === "string") {
    const name = NODE_CODES.has(e.code) ? (e.code as ErrnoName) : "EIO";
    return new WasiError(name, `'${path}': ${e.code}`);
  }
  throw err;
}

/** The errno of a journaled error reply's code (`{code, message}`); unknown codes are EIO. */
export function errnoOfCode(code: unknown): number {
  if (typeof code !== "string") return ERRNO.EIO;
  const direct = (ERRNO as Record<string, number>)[code];
  if (direct !== undefined) return direct;
  const abi = ABI_CODES[code];
  return abi === undefined ? ERRNO.EIO : ERRNO[abi];
}

/** Thrown by the import layer for a deterministic errno (bad fd, bad flags): never journaled. */
export class Errno extends Error {
  override name = "Errno";
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}

/** A guest pointer out of bounds in a WASI call: the call returns EFAULT (docs/wasi.md). */
export class Fault extends Error {
  override name = "Fault";
}
