import { writeFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";

function compileWat(path: string, text: string): string {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory);
    if (!mod.validate()) throw new Error(`WAT module ${path} does not validate`);
    writeFileSync(path, mod.emitBinary());
  } finally {
    mod.dispose();
  }
  return path;
}

/** Bytes in WAT string syntax ("\81\a2…"), for `data`. */
export const watBytes = (b: Uint8Array): string => Array.from(b, (x) => "\\" + x.toString(16).padStart(2, "0")).join("");

/**
 * A hand-written guest that talks the dwe ABI directly: `data` places byte strings in memory
 * (WAT string syntax, e.g. "\81\a2ms\01"), `body` is the `run` function's body, and `$call` /
 * `$response` are the two ABI imports. `extra` adds module fields (functions, more imports).
 */
export function abiGuest(
  dir: string,
  name: string,
  o: { data?: Record<number, string>; body: string; pages?: number; extra?: string; imports?: string },
): string {
  const data = Object.entries(o.data ?? {})
    .map(([at, text]) => `(data (i32.const ${at}) "${text}")`)
    .join("\n  ");
  return compileWat(
    join(dir, `${name}.wasm`),
    `(module
  ${
    o.imports ??
    `(import "dwe" "call" (func $call (param i32 i32 i32 i32) (result i32)))
  (import "dwe" "response" (func $response (param i32 i32) (result i32)))`
  }
  (memory (export "memory") ${o.pages ?? 1})
  ${data}
  ${o.extra ?? ""}
  (func (export "run") ${o.body})
)`,
  );
}
