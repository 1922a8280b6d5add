import type { GuestRun } from "../../engine/kernel/guest-run.js";
import { ERRNO } from "./errno.js";
import { utf8, type WasiMemory } from "./memory.js";
import { i32s, wasiInterface } from "./interface.js";
import type { WasiImport } from "./state.js";

/** argv[0] of a run made before dwe stored the module's file name (kept so its replay is unchanged). */
export const PROGRAM_NAME = "guest";

/** The WASI argv of a run: the module's file name, then the arguments after `--`. */
export function argvOf(run: GuestRun): string[] {
  return [run.config.argv0 ?? PROGRAM_NAME, ...run.config.args];
}

/**
 * argv and environ come from the run's pinned config, so they need no journal: a resumed run
 * sees exactly what it started with. The environment is only what `--env` passed, sorted by name.
 */
function argsImports(
  mem: WasiMemory,
  run: GuestRun,
): Record<"args_sizes_get" | "args_get" | "environ_sizes_get" | "environ_get", WasiImport> {
  const argv = argvOf(run).map((s) => utf8(s + "\0"));
  const environ = Object.keys(run.config.env)
    .sort()
    .map((k) => utf8(`${k}=${run.config.env[k]}\0`));

  const sizes =
    (list: Uint8Array[]) =>
    (countPtr: number, sizePtr: number): number => {
      mem.check(countPtr, 4);
      mem.check(sizePtr, 4);
      mem.setU32(countPtr, list.length);
      mem.setU32(
        sizePtr,
        list.reduce((n, s) => n + s.length, 0),
      );
      return ERRNO.ESUCCESS;
    };
  const get =
    (list: Uint8Array[]) =>
    (ptrs: number, buf: number): number => {
      mem.check(ptrs, list.length * 4);
      mem.check(
        buf,
        list.reduce((n, s) => n + s.length, 0),
      );
      let at = buf;
      list.forEach((s, i) => {
        mem.setU32(ptrs + i * 4, at);
        mem.write(at, s);
        at += s.length;
      });
      return ERRNO.ESUCCESS;
    };

  return {
    args_sizes_get: sizes(argv),
    args_get: get(argv),
    environ_sizes_get: sizes(environ),
    environ_get: get(environ),
  };
}

/** `args_*`, `environ_*`: from the run's config, never journaled. */
export const argsInterface = wasiInterface({
  name: "args",
  imports: {
    args_get: { params: i32s(2), ops: [] },
    args_sizes_get: { params: i32s(2), ops: [] },
    environ_get: { params: i32s(2), ops: [] },
    environ_sizes_get: { params: i32s(2), ops: [] },
  },
  guest: (env) => argsImports(env.mem, env.run),
  host: () => [],
});
