import type { HostFunction } from "../../engine/kernel/host-function.js";
import { fsAppend } from "../fs.js";
import { httpRequest } from "../http.js";
import { clockFunctions } from "../wasi/clocks.js";
import { pathLinkFunctions } from "../wasi/links.js";
import { stdioWrite } from "../wasi/stdio.js";
import { p2FileRead, p2FileWrite, p2FsFunctions } from "./fs-host.js";
import { P2_OPS } from "./index.js";

/** The host functions that can answer a component's op, by op (the guest side names them). */
function candidates(): Map<string, HostFunction<never>> {
  const map = new Map<string, HostFunction<never>>();
  const add = (key: string, f: HostFunction<never>) => map.set(key, f);
  add(fsAppend.name, fsAppend as HostFunction<never>);
  add(httpRequest.name, httpRequest as HostFunction<never>);
  // The clock state of preview1's host functions is kept on the guest side here (wasi-p2/clocks.ts
  // clamps the monotonic clock from journaled readings), so these only serve their intents.
  for (const f of clockFunctions({ lastMonotonic: 0n, lastRealtime: 0n })) add(f.name, f);
  add(stdioWrite.name, stdioWrite as HostFunction<never>);
  for (const [key, f] of p2FsFunctions) add(key, f as HostFunction<never>);
  add("p2:wasi.fd_read", p2FileRead as HostFunction<never>);
  add("p2:wasi.fd_pwrite", p2FileWrite as HostFunction<never>);
  for (const f of pathLinkFunctions) add(`p2:${f.name}`, f);
  return map;
}

/**
 * The host functions a component's calls are answered by, keyed by the op the guest side passes
 * to the Dispatcher: exactly the ops its interfaces declare (index.ts), nothing more (no exec,
 * no child runs, no dwe ABI file calls but the append of append streams).
 */
export function componentHostFunctions(): ReadonlyMap<string, HostFunction<never>> {
  const all = candidates();
  const map = new Map<string, HostFunction<never>>();
  for (const op of P2_OPS) {
    const f = all.get(op);
    if (!f) throw new Error(`internal: a WASI 0.2 interface makes ${op}, which no host function answers`);
    map.set(op, f);
  }
  return map;
}
