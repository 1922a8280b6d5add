/** WASI preview1 constants and struct layouts used by dwe (witx: wasi_snapshot_preview1). */

export const FILETYPE = {
  UNKNOWN: 0,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SYMBOLIC_LINK: 7,
} as const;

export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;

export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;

export const RIGHTS = {
  FD_DATASYNC: 1n << 0n,
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_FDSTAT_SET_FLAGS: 1n << 3n,
  FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_ADVISE: 1n << 7n,
  FD_ALLOCATE: 1n << 8n,
  PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n,
  PATH_LINK_SOURCE: 1n << 11n,
  PATH_LINK_TARGET: 1n << 12n,
  PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n,
  PATH_READLINK: 1n << 15n,
  PATH_RENAME_SOURCE: 1n << 16n,
  PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n,
  PATH_FILESTAT_SET_SIZE: 1n << 19n,
  PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n,
  FD_FILESTAT_SET_SIZE: 1n << 22n,
  FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n,
  PATH_REMOVE_DIRECTORY: 1n << 25n,
  PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n,
  SOCK_SHUTDOWN: 1n << 28n,
  /** Every right preview1 defines (bits 0-29). */
  ALL: (1n << 30n) - 1n,
} as const;

/** What a regular file's descriptor can have: no path rights (a file is not a directory). */
export const FILE_RIGHTS =
  RIGHTS.FD_DATASYNC |
  RIGHTS.FD_READ |
  RIGHTS.FD_SEEK |
  RIGHTS.FD_FDSTAT_SET_FLAGS |
  RIGHTS.FD_SYNC |
  RIGHTS.FD_TELL |
  RIGHTS.FD_WRITE |
  RIGHTS.FD_ADVISE |
  RIGHTS.FD_ALLOCATE |
  RIGHTS.FD_FILESTAT_GET |
  RIGHTS.FD_FILESTAT_SET_SIZE |
  RIGHTS.FD_FILESTAT_SET_TIMES |
  RIGHTS.POLL_FD_READWRITE;

/**
 * What a directory's descriptor can have: path rights and stat, never read, write or seek (a
 * program that reopens a directory with the rights it was given, as wasi-libc and the test suite's
 * helpers do, must not ask the host for a writable directory).
 */
export const DIRECTORY_RIGHTS =
  RIGHTS.FD_FDSTAT_SET_FLAGS |
  RIGHTS.FD_SYNC |
  RIGHTS.FD_DATASYNC |
  RIGHTS.PATH_CREATE_DIRECTORY |
  RIGHTS.PATH_CREATE_FILE |
  RIGHTS.PATH_LINK_SOURCE |
  RIGHTS.PATH_LINK_TARGET |
  RIGHTS.PATH_OPEN |
  RIGHTS.FD_READDIR |
  RIGHTS.PATH_READLINK |
  RIGHTS.PATH_RENAME_SOURCE |
  RIGHTS.PATH_RENAME_TARGET |
  RIGHTS.PATH_FILESTAT_GET |
  RIGHTS.PATH_FILESTAT_SET_SIZE |
  RIGHTS.PATH_FILESTAT_SET_TIMES |
  RIGHTS.FD_FILESTAT_GET |
  RIGHTS.FD_FILESTAT_SET_TIMES |
  RIGHTS.PATH_SYMLINK |
  RIGHTS.PATH_REMOVE_DIRECTORY |
  RIGHTS.PATH_UNLINK_FILE;

/** Stdio: no FD_SEEK/FD_TELL, so wasi-libc's isatty() is true and C stdout is line buffered. */
export const STDIN_RIGHTS = RIGHTS.FD_READ | RIGHTS.FD_FILESTAT_GET | RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_FDSTAT_SET_FLAGS;
export const STDOUT_RIGHTS = RIGHTS.FD_WRITE | RIGHTS.FD_FILESTAT_GET | RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_FDSTAT_SET_FLAGS;

export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const SUBCLOCKFLAGS_ABSTIME = 1;

/** Struct sizes (bytes) and field offsets. */
export const SIZE = { IOVEC: 8, SUBSCRIPTION: 48, EVENT: 32, FDSTAT: 24, FILESTAT: 64, DIRENT: 24, PRESTAT: 8 } as const;

/**
 * Most entries a guest may hand one call in an array the host decodes from its memory: iovecs
 * (Linux's IOV_MAX) and poll subscriptions. More is EINVAL, so the host's work and memory for one
 * call do not grow with the guest's memory (32 M zeroed iovecs took 93 s and 2.8 GiB of heap).
 */
export const MAX_IOVECS = 1024;
export const MAX_SUBSCRIPTIONS = 4096;

/** FSTFLAGS of fd_filestat_set_times / path_filestat_set_times. */
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

/** Largest random_get chunk journaled as one entry (larger requests take several). */
export const RANDOM_CHUNK = 65536;
