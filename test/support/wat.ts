import { writeFileSync } from "node:fs";
import binaryen from "binaryen";

/** Compiles WebAssembly text with binaryen (no toolchain needed) and writes it to `path`. */
export function writeWat(path: string, text: string): string {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.BulkMemory);
    if (!mod.validate()) throw new Error("invalid WAT module");
    writeFileSync(path, mod.emitBinary());
  } finally {
    mod.dispose();
  }
  return path;
}
