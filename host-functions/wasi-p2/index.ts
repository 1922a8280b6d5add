import type { HostFunction } from "../../engine/kernel/host-function.js";
import { HOST_FUNCTIONS } from "../registry.js";
import { clockFunctions } from "../wasi/clocks.js";
import { stdioWrite } from "../wasi/stdio.js";
import { pathLinkFunctions } from "../wasi/links.js";
import { cliImports } from "./cli.js";
import { clocksImports } from "./clocks.js";
import { filesystemImports } from "./filesystem.js";
import { httpImports } from "./http.js";
import { p2FileRead, p2FileWrite, p2FsFunctions } from "./fs-host.js";
import type { P2Env } from "./host.js";
import { ioImports } from "./io.js";
import { randomImports } from "./random.js";

/** The WASI 0.2 interfaces dwe implements (import names without their @version). */
export const SUPPORTED_INTERFACES: ReadonlySet<string> = new Set([
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/stderr",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:cli/terminal-stderr",
  "wasi:clocks/monotonic-clock",
  "wasi:clocks/wall-clock",
  "wasi:filesystem/preopens",
  "wasi:filesystem/types",
  "wasi:http/outgoing-handler",
  "wasi:http/types",
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
  "wasi:random/random",
  "wasi:random/insecure",
  "wasi:random/insecure-seed",
]);

/** The import object of a component, keyed by interface name as jco's instantiate() reads it. */
export function wasiP2Imports(env: P2Env): Record<string, Record<string, unknown>> {
  const io = ioImports(env);
  return {
    ...io.imports,
    ...clocksImports(env, io.types),
    ...randomImports(env),
    ...cliImports(env, io.types),
    ...filesystemImports(env, io.types),
    ...httpImports(env, io.types),
  };
}

/**
 * The host functions a component's calls are answered by, keyed by the op the guest side passes
 * to the Dispatcher: the dwe ABI's (fs.append, http.request), preview1's clock, random, timer and stdio (same op
 * codes and requests), and the file operations of wasi-p2/fs-host.ts.
 */
export function componentHostFunctions(): ReadonlyMap<string, HostFunction<never>> {
  const map = new Map<string, HostFunction<never>>(HOST_FUNCTIONS);
  // The clock state of preview1's host functions is kept on the guest side here (wasi-p2/clocks.ts
  // clamps the monotonic clock from journaled readings), so this one only serves their intents.
  for (const f of clockFunctions({ lastMonotonic: 0n, lastRealtime: 0n })) map.set(f.name, f);
  map.set(stdioWrite.name, stdioWrite as HostFunction<never>);
  for (const [key, f] of p2FsFunctions) map.set(key, f as HostFunction<never>);
  map.set("p2:wasi.fd_read", p2FileRead as HostFunction<never>);
  map.set("p2:wasi.fd_pwrite", p2FileWrite as HostFunction<never>);
  for (const f of pathLinkFunctions) map.set(`p2:${f.name}`, f);
  return map;
}
