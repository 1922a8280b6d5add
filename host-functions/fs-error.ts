/**
 * The one error of guest file-system operations, and the one mapping of it to what each ABI hands
 * the guest. The confined layer (confined-root.ts) and every file operation of the dwe ABI
 * (fs.ts), WASI preview1 (wasi/) and wasi:filesystem (wasi-p2/) end in an `FsError` named by its
 * POSIX errno; `FS_ERRORS` says, once, what that is as a preview1 errno, as a wasi:filesystem
 * `error-code` and as a code of the dwe ABI. No Node import: the component's guest thread reads
 * this table too.
 */
import { GuestVisibleError } from "../engine/kernel/errors.js";

/** The guest-visible codes of the dwe ABI that a file operation can end with (docs/abi.md). */
export type AbiFsCode = "denied" | "not_found" | "invalid" | "io";

interface Mapping {
  /** The WASI preview1 errno. */
  readonly p1: number;
  /** The wasi:filesystem `error-code`. */
  readonly p2: string;
  /** The dwe ABI's code. */
  readonly abi: AbiFsCode;
  /** Whether Node (the kernel) reports this errno by this name: any other Node code is EIO. */
  readonly node: boolean;
}

const m = (p1: number, p2: string, abi: AbiFsCode = "io", node = true): Mapping => ({ p1, p2, abi, node });

/** Every errno a guest file operation can end with, by name. */
export const FS_ERRORS = {
  E2BIG: m(1, "io", "io", false),
  EACCES: m(2, "access", "denied"),
  EAGAIN: m(6, "would-block"),
  EBADF: m(8, "bad-descriptor"),
  EBUSY: m(10, "busy"),
  EEXIST: m(20, "exist"),
  EFAULT: m(21, "io", "io", false),
  EFBIG: m(22, "file-too-large"),
  EILSEQ: m(25, "illegal-byte-sequence", "invalid", false),
  EINVAL: m(28, "invalid", "invalid"),
  EIO: m(29, "io"),
  EISDIR: m(31, "is-directory", "invalid"),
  ELOOP: m(32, "loop", "invalid"),
  EMFILE: m(33, "insufficient-memory"),
  ENAMETOOLONG: m(37, "name-too-long", "invalid"),
  ENOENT: m(44, "no-entry", "not_found"),
  ENOMEM: m(48, "insufficient-memory"),
  ENOSPC: m(51, "insufficient-space"),
  ENOSYS: m(52, "unsupported", "io", false),
  ENOTDIR: m(54, "not-directory", "invalid"),
  ENOTEMPTY: m(55, "not-empty"),
  ENOTSOCK: m(57, "io", "io", false),
  ENOTSUP: m(58, "unsupported", "invalid"),
  EOVERFLOW: m(61, "overflow", "io", false),
  EPERM: m(63, "not-permitted", "denied"),
  EROFS: m(69, "read-only", "denied"),
  ESPIPE: m(70, "invalid-seek"),
  EXDEV: m(75, "cross-device"),
  // WASI's own: a path or descriptor outside what the run was granted.
  ENOTCAPABLE: m(76, "not-permitted", "denied", false),
} as const satisfies Record<string, Mapping>;

export type FsErrno = keyof typeof FS_ERRORS;

/** The dwe ABI's codes as errnos (a dwe ABI host function's error reaching a WASI caller, e.g. fs.append). */
const FROM_ABI: Record<AbiFsCode, FsErrno> = { denied: "ENOTCAPABLE", not_found: "ENOENT", invalid: "EINVAL", io: "EIO" };

function isFsErrno(code: unknown): code is FsErrno {
  return typeof code === "string" && Object.hasOwn(FS_ERRORS, code);
}

/**
 * The errno of a journaled error reply's code: an errno name, or a code of the dwe ABI; anything
 * else (a code from a newer version, a corrupt reply) is EIO.
 */
export function errnoOfCode(code: unknown): FsErrno {
  if (isFsErrno(code)) return code;
  if (typeof code === "string" && Object.hasOwn(FROM_ABI, code)) return FROM_ABI[code as AbiFsCode];
  return "EIO";
}

/** A journaled error reply's code as a wasi:filesystem `error-code`. */
export function p2ErrorCode(code: unknown): string {
  return FS_ERRORS[errnoOfCode(code)].p2;
}

/**
 * A file-system operation of a guest failed with `errno`. Thrown out of a host function it is
 * journaled as `{code: errno, message}`, and replay hands back the same error without touching
 * the disk; each ABI reads what it needs (`p1`, `p2`, `abi`) from FS_ERRORS.
 */
export class FsError extends GuestVisibleError {
  override name = "FsError";
  constructor(
    readonly errno: FsErrno,
    message: string,
  ) {
    super(errno, message);
  }
  /** The WASI preview1 errno. */
  get p1(): number {
    return FS_ERRORS[this.errno].p1;
  }
  /** The dwe ABI's code. */
  get abi(): AbiFsCode {
    return FS_ERRORS[this.errno].abi;
  }
}

/** A path as shown in messages: cut after 100 characters, so a huge path never makes a huge message. */
export function shown(path: string): string {
  return path.length <= 100 ? path : `${path.slice(0, 100)}… (${path.length} characters)`;
}

/** What Node's message for a kernel error would say, without the `/proc` path it names. */
function describe(code: FsErrno, node: string, path: string): string {
  switch (code) {
    case "ENOENT":
      return `'${path}' does not exist`;
    case "ENOTDIR":
      return `'${path}' is not a directory, or a part of its path is not`;
    case "EACCES":
    case "EPERM":
      return `the host refused access to '${path}'`;
    case "EISDIR":
      return `'${path}' is a directory`;
    case "ENAMETOOLONG":
      return `'${path}' has a name that is too long`;
    default:
      return `'${path}': ${node}`;
  }
}

/**
 * Turns what a file operation threw into an FsError: an FsError as it is, a dwe ABI refusal
 * (GuestVisibleError, e.g. a path outside every grant) by its code, a kernel error by its errno
 * (`path` is the guest path, for the message). Anything else is a host bug and is rethrown.
 */
export function fsErrorOf(err: unknown, path: string): FsError {
  if (err instanceof FsError) return err;
  if (err instanceof GuestVisibleError) return new FsError(errnoOfCode(err.code), err.message);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string") throw err;
  const errno = isFsErrno(code) && FS_ERRORS[code].node ? code : "EIO";
  return new FsError(errno, describe(errno, code, shown(path)));
}
