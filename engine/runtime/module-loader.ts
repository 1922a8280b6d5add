import { createHash } from "node:crypto";
import { InvalidModule } from "../kernel/errors.js";
import { readCachedArtifact, writeCachedArtifact } from "./artifact-cache.js";
import { OnceByKey } from "./once-by-key.js";
import type { ModuleKind, Store } from "../store/types.js";
import { ASYNCIFY_ARTIFACT, asyncifyModule, checkEngineExports, needsAsyncify } from "./asyncify.js";
import { compileCore, detectKind, exportNames, withImportedMemory, withMemoryLimit } from "./wasm-binary.js";
import { importsPooledMemory } from "./memory-pool.js";
import { checkImportSignatures } from "./import-signatures.js";

/** Imports dwe provides, by module; `*` means any name (unimplemented WASI calls return ENOSYS). */
const PROVIDED: Record<string, ReadonlySet<string> | "*"> = {
  dwe: new Set(["call", "response"]),
  env: new Set(["abort", "trace", "seed"]),
  wasi_snapshot_preview1: "*",
};

export const DEFAULT_MAX_MEMORY = 256 * 1024 * 1024;
const PAGE = 65536;

export interface ModuleInfo {
  sha256: string;
  kind: ModuleKind;
  exports: string[];
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Checks a core module before any run is created from it: valid Wasm, every import provided,
 * memory exported, the entry present. `name` is what error messages call the file.
 */
export function inspectModule(bytes: Uint8Array, name: string): ModuleInfo {
  const kind = detectKind(bytes, name);
  if (kind === "component") {
    // Checked further (imports, wasi:cli/run) when it is first transpiled: docs/components.md.
    return { sha256: sha256(bytes), kind, exports: ["run"] };
  }
  const module = compileCore(bytes, name);
  for (const imp of WebAssembly.Module.imports(module)) {
    const provided = PROVIDED[imp.module];
    if (imp.kind !== "function" || !provided || (provided !== "*" && !provided.has(imp.name))) {
      throw new InvalidModule(
        `${name} imports ${imp.kind} ${imp.module}.${imp.name}, which dwe does not provide; ` +
          `guests may import only the dwe ABI (docs/abi.md) and WASI preview1 (docs/wasi.md)`,
      );
    }
  }
  checkImportSignatures(bytes, name);
  const exports = WebAssembly.Module.exports(module);
  checkEngineExports(
    exports.map((e) => e.name),
    name,
  );
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw new InvalidModule(`${name} does not export its memory as 'memory'; dwe needs it to pass data to the guest`);
  }
  return { sha256: sha256(bytes), kind, exports: exports.filter((e) => e.kind === "function").map((e) => e.name) };
}

/** Refuses, before any run exists, a core module whose initial memory is over the run's limit. */
export function checkMemoryFits(bytes: Uint8Array, maxMemoryBytes: number | null): void {
  withMemoryLimit(bytes, Math.max(1, Math.floor((maxMemoryBytes ?? DEFAULT_MAX_MEMORY) / PAGE)));
}

/** Picks the entry export: the one asked for, else `run`, else `_start`. */
export function chooseEntry(info: ModuleInfo, asked: string | undefined, name: string): string {
  if (asked !== undefined) {
    if (!info.exports.includes(asked)) throw new InvalidModule(`${name} has no exported function '${asked}' to use as the entry`);
    return asked;
  }
  if (info.exports.includes("run")) return "run";
  if (info.exports.includes("_start")) return "_start";
  throw new InvalidModule(`${name} exports neither 'run' nor '_start'; export an entry function (see docs/abi.md)`);
}

/** Compiled modules by sha256 and memory limit, for the life of the process. */
const compiled = new OnceByKey<WebAssembly.Module>(true);
/** Instrumented bytes by sha256 while they are being made (then the store holds them). */
const instrumenting = new OnceByKey<Uint8Array>(false);

/**
 * The executable form of a stored module: asyncify-instrumented when it has async-capable imports
 * (cached in the store, computed once per module), memory capped at `maxMemoryBytes` and imported
 * (instances get recycled memories, memory-pool.ts), compiled once per process.
 */
export function loadExecutable(store: Store, sha: string, maxMemoryBytes: number | null): Promise<WebAssembly.Module> {
  const limitPages = Math.max(1, Math.floor((maxMemoryBytes ?? DEFAULT_MAX_MEMORY) / PAGE));
  return compiled.get(`${sha}/${limitPages}`, async () => {
    const bytes = await instrumenting.get(sha, () => instrumentedBytes(store, sha));
    const capped = withMemoryLimit(bytes, limitPages);
    const pooled = withImportedMemory(capped);
    const module = compileCore(pooled?.bytes ?? capped, `module ${sha.slice(0, 12)}`);
    if (pooled) importsPooledMemory(module, pooled.limits);
    return module;
  });
}

async function instrumentedBytes(store: Store, sha: string): Promise<Uint8Array> {
  const stored = await store.getModule(sha);
  if (!stored) throw new InvalidModule(`module ${sha} is missing from the store; the database is incomplete`);
  // Checked at every load too: a stored module may predate the check, or come from `dwe import`.
  checkEngineExports(exportNames(stored.bytes), `module ${sha.slice(0, 12)}`);
  let bytes = await store.getArtifact(sha, ASYNCIFY_ARTIFACT);
  if (!bytes) {
    bytes = readCachedArtifact(ASYNCIFY_ARTIFACT, sha);
    if (!bytes) {
      const plain = compileCore(stored.bytes, `module ${sha.slice(0, 12)}`);
      bytes = needsAsyncify(plain) ? await asyncifyModule(stored.bytes) : stored.bytes;
      compileCore(bytes, `instrumented module ${sha.slice(0, 12)}`); // never cache an artifact that does not compile
      writeCachedArtifact(ASYNCIFY_ARTIFACT, sha, bytes);
    }
    await store.putArtifact(sha, ASYNCIFY_ARTIFACT, bytes);
  }
  return bytes;
}
