import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from dist/bench/lib/ or bench/lib/). */
export const ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
})();

export const DWE_BIN = join(ROOT, "bin", "dwe.js");
const BUILD = join(ROOT, "bench", ".build");
const FLAGS = ["--optimizeLevel", "3", "--shrinkLevel", "1", "--noAssert", "--runtime", "incremental"];

/**
 * Compiles an AssemblyScript benchmark guest (bench/guests/NAME.ts) to bench/.build/NAME.wasm once;
 * later calls reuse it while it is newer than its source. Returns the path of the .wasm file.
 */
export async function guest(name: string): Promise<string> {
  const source = join(ROOT, "bench", "guests", `${name}.ts`);
  const out = join(BUILD, `${name}.wasm`);
  if (existsSync(out) && statSync(out).mtimeMs > statSync(source).mtimeMs) return out;
  const { default: asc } = await import("assemblyscript/asc");
  let binary: Uint8Array | undefined;
  let stderr = "";
  const { error } = await asc.main([relative(ROOT, source), "--outFile", "out.wasm", ...FLAGS, "--baseDir", ROOT], {
    writeFile(file: string, contents: Uint8Array | string) {
      if (file.endsWith(".wasm")) binary = contents as Uint8Array;
    },
    stdout: { write: () => true },
    stderr: { write: (s: string | Uint8Array) => ((stderr += String(s)), true) },
  });
  if (error || !binary) throw new Error(`asc failed for ${source}:\n${stderr}\n${error?.message ?? "no output"}`);
  mkdirSync(BUILD, { recursive: true });
  writeFileSync(out, binary);
  return out;
}

export function example(name: string): string {
  return resolve(ROOT, "examples", name, "build", `${name}.wasm`);
}

export function readWasm(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
