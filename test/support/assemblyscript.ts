import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import asc from "assemblyscript/asc";
import { ROOT } from "./cli.js";

const FLAGS = ["--optimizeLevel", "3", "--shrinkLevel", "1", "--noAssert", "--runtime", "incremental"];

/** Compiles an AssemblyScript file of the repository (path relative to the root) into `outDir`. */
export async function compileAs(source: string, outDir: string): Promise<string> {
  let binary: Uint8Array | undefined;
  let stderr = "";
  const { error } = await asc.main([relative(ROOT, join(ROOT, source)), "--outFile", "out.wasm", ...FLAGS, "--baseDir", ROOT], {
    writeFile(name: string, contents: Uint8Array | string) {
      if (name.endsWith(".wasm")) binary = contents as Uint8Array;
    },
    stdout: { write: () => true },
    stderr: { write: (s: string | Uint8Array) => ((stderr += String(s)), true) },
  });
  if (error || !binary) throw new Error(`asc failed for ${source}:\n${stderr}\n${error?.message ?? "no output"}`);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, source.split("/").pop()!.replace(/\.ts$/, ".wasm"));
  writeFileSync(out, binary);
  return out;
}
