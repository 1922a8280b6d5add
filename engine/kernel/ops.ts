/**
 * Stable numeric codes of journaled operations: part of the journal format. Never renumber;
 * only append. The names are what error messages and `dwe show` print.
 */
export const OP_CODES = {
  "run.output": 1,
  "run.fail": 2,
  log: 3,
  "clock.now": 4,
  "random.bytes": 5,
  sleep: 6,
  "http.request": 7,
  exec: 8,
  "fs.read": 9,
  "fs.write": 10,
  "fs.append": 11,
  "fs.list": 12,
  "fs.stat": 13,
  "fs.remove": 14,
  "signal.wait": 15,
  "child.start": 16,
  "child.join": 17,
  // WASI preview1 (journaled per call; see docs/wasi.md)
  "wasi.clock_time_get": 100,
  "wasi.clock_res_get": 101,
  "wasi.random_get": 102,
  "wasi.poll_oneoff": 103,
  "wasi.fd_write": 104,
  "wasi.fd_read": 105,
  "wasi.fs": 106,
  "wasi.proc_exit": 107,
  "wasi.fd_pwrite": 108,
  "wasi.path_open": 109,
  "wasi.path_open_create": 110,
  "wasi.fd_filestat_get": 111,
  "wasi.path_filestat_get": 112,
  "wasi.fd_readdir": 113,
  "wasi.path_create_directory": 114,
  "wasi.path_remove_directory": 115,
  "wasi.path_unlink_file": 116,
  "wasi.path_rename": 117,
  "wasi.fd_filestat_set_size": 118,
  "wasi.path_symlink": 119,
  "wasi.path_readlink": 120,
  "wasi.path_link": 121,
  "wasi.fd_filestat_set_times": 122,
  "wasi.path_filestat_set_times": 123,
} as const;

export type OpName = keyof typeof OP_CODES;

const NAMES = new Map<number, string>(Object.entries(OP_CODES).map(([name, code]) => [code, name]));

export function opName(code: number): string {
  return NAMES.get(code) ?? `op#${code}`;
}

export function opCode(name: string): number | undefined {
  return (OP_CODES as Record<string, number>)[name];
}
