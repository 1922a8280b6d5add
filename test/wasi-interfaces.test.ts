// WASI declared per interface (host-functions/wasi/interface.ts, host-functions/wasi-p2/interface.ts):
// the signature and suspension tables are derived from the declarations and say exactly what dwe
// provided before they were; every op an interface declares is answered, and a component is
// answered by nothing more; and the one file-system error maps once to each ABI.
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASYNC_IMPORTS } from "../engine/runtime/asyncify.js";
import { PROVIDED_SIGNATURES } from "../engine/runtime/import-signatures.js";
import { OP_CODES } from "../engine/kernel/ops.js";
import { ConfinedRoot } from "../host-functions/confined-root.js";
import { FsError, fsErrorOf, p2ErrorCode } from "../host-functions/fs-error.js";
import { fsError } from "../host-functions/fs-sandbox.js";
import { PREVIEW1_IMPORTS, PREVIEW1_INTERFACES } from "../host-functions/wasi/interfaces.js";
import { WasiHost } from "../host-functions/wasi/preview1.js";
import { ERRNO } from "../host-functions/wasi/errno.js";
import { componentHostFunctions } from "../host-functions/wasi-p2/host-functions.js";
import { P2_INTERFACES, P2_OPS, SUPPORTED_INTERFACES } from "../host-functions/wasi-p2/index.js";

const I = "i32";
const L = "i64";
const sig = (params: string[], results: string[] = [I]) => `(${params.join(", ")}) -> (${results.join(", ")})`;
const i32s = (n: number) => Array<string>(n).fill(I);

/** What dwe provided to preview1 guests before the declarations (witx: wasi_snapshot_preview1), written out by hand. */
const PREVIEW1_BEFORE: Record<string, string> = {
  args_get: sig(i32s(2)),
  args_sizes_get: sig(i32s(2)),
  environ_get: sig(i32s(2)),
  environ_sizes_get: sig(i32s(2)),
  clock_res_get: sig(i32s(2)),
  clock_time_get: sig([I, L, I]),
  fd_advise: sig([I, L, L, I]),
  fd_allocate: sig([I, L, L]),
  fd_close: sig(i32s(1)),
  fd_datasync: sig(i32s(1)),
  fd_fdstat_get: sig(i32s(2)),
  fd_fdstat_set_flags: sig(i32s(2)),
  fd_fdstat_set_rights: sig([I, L, L]),
  fd_filestat_get: sig(i32s(2)),
  fd_filestat_set_size: sig([I, L]),
  fd_filestat_set_times: sig([I, L, L, I]),
  fd_pread: sig([I, I, I, L, I]),
  fd_prestat_get: sig(i32s(2)),
  fd_prestat_dir_name: sig(i32s(3)),
  fd_pwrite: sig([I, I, I, L, I]),
  fd_read: sig(i32s(4)),
  fd_readdir: sig([I, I, I, L, I]),
  fd_renumber: sig(i32s(2)),
  fd_seek: sig([I, L, I, I]),
  fd_sync: sig(i32s(1)),
  fd_tell: sig(i32s(2)),
  fd_write: sig(i32s(4)),
  path_create_directory: sig(i32s(3)),
  path_filestat_get: sig(i32s(5)),
  path_filestat_set_times: sig([I, I, I, I, L, L, I]),
  path_link: sig(i32s(7)),
  path_open: sig([I, I, I, I, I, L, L, I, I]),
  path_readlink: sig(i32s(6)),
  path_remove_directory: sig(i32s(3)),
  path_rename: sig(i32s(6)),
  path_symlink: sig(i32s(5)),
  path_unlink_file: sig(i32s(3)),
  poll_oneoff: sig(i32s(4)),
  proc_exit: sig([I], []),
  proc_raise: sig(i32s(1)),
  sched_yield: sig([]),
  random_get: sig(i32s(2)),
  sock_accept: sig(i32s(3)),
  sock_recv: sig(i32s(6)),
  sock_send: sig(i32s(5)),
  sock_shutdown: sig(i32s(2)),
};

/** The imports asyncify instrumented before (engine/kernel/asyncify.ts's list). */
const SUSPENDING_BEFORE = [
  "dwe.call",
  ...[
    "poll_oneoff",
    "clock_time_get",
    "random_get",
    "fd_read",
    "fd_pread",
    "fd_write",
    "fd_pwrite",
    "fd_seek",
    "fd_filestat_get",
    "path_filestat_get",
    "fd_readdir",
    "path_open",
    "path_create_directory",
    "path_remove_directory",
    "path_unlink_file",
    "path_rename",
    "fd_filestat_set_size",
    "path_symlink",
    "path_readlink",
    "path_link",
    "path_filestat_set_times",
    "fd_filestat_set_times",
  ].map((n) => `wasi_snapshot_preview1.${n}`),
];

describe("WASI preview1, declared per interface", () => {
  it("the signatures dwe checks imports against are derived from the declarations, and unchanged", () => {
    const wasi = Object.fromEntries(
      Object.entries(PROVIDED_SIGNATURES)
        .filter(([k]) => k.startsWith("wasi_snapshot_preview1."))
        .map(([k, v]) => [k.slice("wasi_snapshot_preview1.".length), v]),
    );
    expect(wasi).toEqual(PREVIEW1_BEFORE);
    expect(PREVIEW1_IMPORTS.size).toBe(Object.keys(PREVIEW1_BEFORE).length);
  });

  it("an import may suspend exactly when it journals: the asyncify list is derived, and unchanged", () => {
    expect([...ASYNC_IMPORTS].sort()).toEqual([...SUSPENDING_BEFORE].sort());
    for (const [name, decl] of PREVIEW1_IMPORTS)
      expect(ASYNC_IMPORTS.includes(`wasi_snapshot_preview1.${name}`), name).toBe(decl.ops.length > 0);
  });

  it("every op an import declares is a journal op code and is answered by its interface's host functions", () => {
    const host = new WasiHost({ input: new Uint8Array(0), config: { grants: { dirs: [], net: [], shell: false }, args: [], env: {} } });
    for (const group of PREVIEW1_INTERFACES) {
      const answered = new Set(group.host(host).map((f) => f.name));
      for (const [name, decl] of Object.entries(group.imports))
        for (const op of decl.ops) {
          expect(OP_CODES[op], `${name}: ${op}`).toBeGreaterThanOrEqual(100);
          expect(answered.has(op), `${group.name}.${name} journals ${op}`).toBe(true);
        }
    }
    expect([...host.functions.keys()].every((k) => k.startsWith("wasi."))).toBe(true);
  });
});

describe("WASI 0.2, declared per interface", () => {
  it("a component is answered by exactly the ops its interfaces declare: no commands, no child runs, no other dwe ABI call", () => {
    const fns = componentHostFunctions();
    expect(new Set(fns.keys())).toEqual(P2_OPS);
    for (const op of ["exec", "child.start", "fs.write", "fs.remove", "signal.wait", "sleep"]) expect(fns.has(op), op).toBe(false);
    for (const [key, f] of fns) expect(OP_CODES[f.name], key).toBeDefined();
  });

  it("the supported interfaces are the declared ones, one file each, none twice", () => {
    const names = P2_INTERFACES.flatMap((i) => i.names);
    expect(new Set(names).size).toBe(names.length);
    expect(SUPPORTED_INTERFACES).toEqual(new Set(names));
    expect(SUPPORTED_INTERFACES.has("wasi:filesystem/types")).toBe(true);
    expect(SUPPORTED_INTERFACES.has("wasi:http/outgoing-handler")).toBe(true);
  });
});

describe("one file-system error, one mapping", () => {
  it("a refusal of the confined layer is the same error for the dwe ABI, preview1 and wasi:filesystem", () => {
    const dir = mkdtempSync(join(tmpdir(), "dwe-fs-error-"));
    try {
      symlinkSync("/etc", join(dir, "out"));
      writeFileSync(join(dir, "f"), "f");
      const root = new ConfinedRoot(dir, "/data");
      const refusal = (f: () => unknown): FsError => {
        try {
          f();
        } catch (err) {
          return fsErrorOf(err, "/data/x");
        }
        throw new Error("no error");
      };
      const out = refusal(() => root.stat("out/passwd", true));
      expect([out.errno, out.p1, p2ErrorCode(out.code), fsError(out, "/data/out/passwd").code]).toEqual([
        "ENOTCAPABLE",
        ERRNO.ENOTCAPABLE,
        "not-permitted",
        "denied",
      ]);
      // A kernel error (ENOENT from lstat) goes through the same table.
      const missing = refusal(() => root.stat("nope", false));
      expect([missing.errno, missing.p1, p2ErrorCode(missing.code), fsError(missing, "/data/nope").code]).toEqual([
        "ENOENT",
        ERRNO.ENOENT,
        "no-entry",
        "not_found",
      ]);
      const notDir = refusal(() => root.stat("f/", false));
      expect([notDir.errno, p2ErrorCode(notDir.code), fsError(notDir, "/data/f/").code]).toEqual(["ENOTDIR", "not-directory", "invalid"]);
      // A path too long keeps its errno for WASI and the ABI's code it always had.
      const long = refusal(() => root.stat("a/".repeat(3000), false));
      expect([long.errno, fsError(long, "/data/…").code]).toEqual(["ENAMETOOLONG", "invalid"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a journaled code of either kind reads back as the same errno: errno names, and the dwe ABI's codes (fs.append under wasi:io)", () => {
    expect(p2ErrorCode("EROFS")).toBe("read-only");
    expect(p2ErrorCode("denied")).toBe("not-permitted");
    expect(p2ErrorCode("not_found")).toBe("no-entry");
    expect(p2ErrorCode("something-newer")).toBe("io");
  });
});
