import { FS_ERRORS, type FsErrno } from "../fs-error.js";

/** WASI preview1 errno values (the subset dwe returns), by name: FS_ERRORS' `p1`, plus success. */
export const ERRNO = {
  ESUCCESS: 0,
  ...(Object.fromEntries(Object.entries(FS_ERRORS).map(([name, e]) => [name, e.p1])) as {
    readonly [K in FsErrno]: (typeof FS_ERRORS)[K]["p1"];
  }),
} as const;

const NAMES = new Map<number, FsErrno>(Object.entries(FS_ERRORS).map(([name, e]) => [e.p1, name as FsErrno]));

/** The name of a preview1 errno (EIO for a number that is none). */
export function errnoName(errno: number): FsErrno {
  return NAMES.get(errno) ?? "EIO";
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
