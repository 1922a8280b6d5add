import { ProgramExit } from "../../engine/kernel/errors.js";
import { argsInterface } from "./args.js";
import { clocksInterface } from "./clocks.js";
import { ERRNO } from "./errno.js";
import { filesInterface } from "./file-imports.js";
import { I, PREVIEW1_MODULE, wasiInterface, type ImportDecl, type WasiInterface } from "./interface.js";
import { linksInterface } from "./link-imports.js";

/** proc_exit ends the run; proc_raise is not supported (ENOSYS, docs/wasi.md). */
const procInterface = wasiInterface({
  name: "proc",
  imports: {
    proc_exit: { params: [I], results: [], ops: [] },
    proc_raise: { params: [I], ops: [] },
  },
  guest: () => ({
    proc_exit: (code: number) => {
      throw new ProgramExit(code);
    },
    proc_raise: () => ERRNO.ENOSYS,
  }),
  host: () => [],
});

/**
 * Every preview1 function dwe provides, by group: each declared once, with its implementation
 * (interface.ts). The tables below are derived from these declarations, never written again.
 */
export const PREVIEW1_INTERFACES: readonly WasiInterface[] = [
  argsInterface,
  clocksInterface,
  filesInterface,
  linksInterface,
  procInterface,
];

/** Every preview1 import, by name (without the module). */
export const PREVIEW1_IMPORTS: ReadonlyMap<string, ImportDecl> = (() => {
  const all = new Map<string, ImportDecl>();
  for (const group of PREVIEW1_INTERFACES)
    for (const [name, decl] of Object.entries<ImportDecl>(group.imports)) {
      if (all.has(name)) throw new Error(`internal: WASI import ${name} is declared twice`);
      all.set(name, decl);
    }
  return all;
})();

/** The preview1 imports that may suspend the guest (`module.name`): those that journal (interface.ts). */
export const PREVIEW1_SUSPENDING: readonly string[] = [...PREVIEW1_IMPORTS]
  .filter(([, decl]) => decl.ops.length > 0)
  .map(([name]) => `${PREVIEW1_MODULE}.${name}`);
