import { cliInterface } from "./cli.js";
import { clocksInterface } from "./clocks.js";
import { filesystemInterface } from "./filesystem.js";
import type { P2Env } from "./host.js";
import { httpInterface } from "./http.js";
import type { P2Interface, P2Op } from "./interface.js";
import { ioInterface, ioTypes, type IoTypes } from "./io.js";
import { randomInterface } from "./random.js";

/**
 * The WASI 0.2 interfaces dwe implements, one file each (interface.ts). This is the guest side,
 * all the component's thread loads; the ops they make are answered by host-functions.ts.
 */
export const P2_INTERFACES: readonly P2Interface<IoTypes>[] = [
  ioInterface,
  clocksInterface,
  randomInterface,
  cliInterface,
  filesystemInterface,
  httpInterface,
];

/** The WASI 0.2 interfaces dwe implements (import names without their @version). */
export const SUPPORTED_INTERFACES: ReadonlySet<string> = new Set(P2_INTERFACES.flatMap((i) => i.names));

/** Every op a component's calls make. */
export const P2_OPS: ReadonlySet<P2Op> = new Set(P2_INTERFACES.flatMap((i) => i.ops));

/** The import object of a component, keyed by interface name as jco's instantiate() reads it. */
export function wasiP2Imports(env: P2Env): Record<string, Record<string, unknown>> {
  const io = ioTypes(env);
  const all: Record<string, Record<string, unknown>> = {};
  for (const i of P2_INTERFACES) {
    const made = i.imports(env, io);
    const keys = Object.keys(made);
    if (keys.length !== i.names.length || keys.some((k) => !i.names.includes(k)))
      throw new Error(`internal: a WASI 0.2 interface file declares ${i.names.join(", ")} but provides ${keys.join(", ")}`);
    Object.assign(all, made);
  }
  return all;
}
