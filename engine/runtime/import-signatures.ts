import { InvalidModule } from "../kernel/errors.js";

/**
 * Signatures of the functions dwe provides to guests. A JavaScript host function accepts any
 * signature (missing arguments become `undefined`, an i64 result from a Number throws), so a guest
 * that imports `dwe.call` with the wrong type would misbehave in confusing ways; it is refused up
 * front instead, naming the import, what it declared and what dwe provides.
 */
const I = "i32";
const L = "i64";
const D = "f64";
const sig = (params: string[], results: string[] = [I]) => `(${params.join(", ")}) -> (${results.join(", ")})`;
const i32s = (n: number) => Array<string>(n).fill(I);

export const PROVIDED_SIGNATURES: Readonly<Record<string, string>> = {
  "dwe.call": sig(i32s(4)),
  "dwe.response": sig(i32s(2)),
  "env.abort": sig(i32s(4), []),
  "env.trace": sig([I, I, D, D, D, D, D], []),
  "env.seed": sig([], [D]),
  // WASI preview1 (witx: wasi_snapshot_preview1)
  ...Object.fromEntries(
    Object.entries({
      args_get: i32s(2),
      args_sizes_get: i32s(2),
      environ_get: i32s(2),
      environ_sizes_get: i32s(2),
      clock_res_get: i32s(2),
      clock_time_get: [I, L, I],
      fd_advise: [I, L, L, I],
      fd_allocate: [I, L, L],
      fd_close: i32s(1),
      fd_datasync: i32s(1),
      fd_fdstat_get: i32s(2),
      fd_fdstat_set_flags: i32s(2),
      fd_fdstat_set_rights: [I, L, L],
      fd_filestat_get: i32s(2),
      fd_filestat_set_size: [I, L],
      fd_filestat_set_times: [I, L, L, I],
      fd_pread: [I, I, I, L, I],
      fd_prestat_get: i32s(2),
      fd_prestat_dir_name: i32s(3),
      fd_pwrite: [I, I, I, L, I],
      fd_read: i32s(4),
      fd_readdir: [I, I, I, L, I],
      fd_renumber: i32s(2),
      fd_seek: [I, L, I, I],
      fd_sync: i32s(1),
      fd_tell: i32s(2),
      fd_write: i32s(4),
      path_create_directory: i32s(3),
      path_filestat_get: i32s(5),
      path_filestat_set_times: [I, I, I, I, L, L, I],
      path_link: i32s(7),
      path_open: [I, I, I, I, I, L, L, I, I],
      path_readlink: i32s(6),
      path_remove_directory: i32s(3),
      path_rename: i32s(6),
      path_symlink: i32s(5),
      path_unlink_file: i32s(3),
      poll_oneoff: i32s(4),
      proc_raise: i32s(1),
      sched_yield: [],
      random_get: i32s(2),
      sock_accept: i32s(3),
      sock_recv: i32s(6),
      sock_send: i32s(5),
      sock_shutdown: i32s(2),
    }).map(([name, params]) => [`wasi_snapshot_preview1.${name}`, sig(params)]),
  ),
  "wasi_snapshot_preview1.proc_exit": sig([I], []),
};

const VALTYPES: Record<number, string> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}
  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new Error("truncated");
    return b;
  }
  /** An unsigned LEB128 of up to 64 bits; values above 2^53 only need skipping here. */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("LEB128 too long");
  }
  name(): string {
    const len = this.uleb();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  valtype(): string {
    const t = VALTYPES[this.byte()];
    if (t === undefined) throw new Error("unsupported value type");
    return t;
  }
  limits(): void {
    const flags = this.byte();
    this.uleb();
    if (flags & 0x01) this.uleb();
  }
}

/**
 * The declared signature of every function import, as `module.name` -> `(params) -> (results)`.
 * Undefined when the module uses type encodings this reader does not know (GC proposal): the
 * engine's own instantiation then decides.
 */
export function importSignatures(bytes: Uint8Array): Map<string, string> | undefined {
  try {
    const types: string[] = [];
    const out = new Map<string, string>();
    let pos = 8;
    while (pos < bytes.length) {
      const r = new Reader(bytes, pos);
      const id = r.byte();
      const size = r.uleb();
      const end = r.pos + size;
      if (id === 1) {
        for (let n = r.uleb(); n > 0; n--) {
          if (r.byte() !== 0x60) return undefined;
          const params = Array.from({ length: r.uleb() }, () => r.valtype());
          const results = Array.from({ length: r.uleb() }, () => r.valtype());
          types.push(sig(params, results));
        }
      } else if (id === 2) {
        for (let n = r.uleb(); n > 0; n--) {
          const mod = r.name();
          const field = r.name();
          const kind = r.byte();
          if (kind === 0x00) {
            const t = types[r.uleb()];
            if (t === undefined) return undefined;
            out.set(`${mod}.${field}`, t);
          } else if (kind === 0x01) {
            r.byte();
            r.limits();
          } else if (kind === 0x02) r.limits();
          else if (kind === 0x03) {
            r.valtype();
            r.byte();
          } else if (kind === 0x04) {
            r.byte();
            r.uleb();
          } else return undefined;
        }
        return out;
      }
      pos = end;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Refuses a module that imports a dwe-provided function with a signature other than dwe's. */
export function checkImportSignatures(bytes: Uint8Array, name: string): void {
  const declared = importSignatures(bytes);
  if (!declared) return;
  for (const [imp, got] of declared) {
    const want = PROVIDED_SIGNATURES[imp];
    if (want !== undefined && want !== got) {
      throw new InvalidModule(
        `${name} imports function ${imp} with the signature ${got}, but dwe provides ${want}; ` +
          `fix the import declaration (docs/abi.md) or rebuild with a matching SDK`,
      );
    }
  }
}
