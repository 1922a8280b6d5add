// Loading a module for many runs at once: a worker hands its executor threads up to --concurrency
// runs of one module together, and each must not instrument (seconds of binaryen) and compile it
// again. In-process, on a real SQLite file and a fresh per-test cache directory.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreAt } from "../engine/store/open.js";
import type { Store } from "../engine/store/types.js";
import { ASYNCIFY_ARTIFACT } from "../engine/runtime/asyncify.js";
import { loadExecutable } from "../engine/runtime/module-loader.js";
import { workdir } from "./support/cli.js";

describe("loading one module for many runs at once", () => {
  const w = workdir("dwe-module-loading-");
  let store: Store;
  let sha: string;
  const savedCache = process.env.DWE_CACHE_DIR;
  beforeAll(async () => {
    process.env.DWE_CACHE_DIR = join(w.dir, "cache");
    mkdirSync(process.env.DWE_CACHE_DIR, { recursive: true });
    store = openStoreAt(w.db, "process");
    const bytes = readFileSync("examples/effects/build/effects.wasm");
    sha = createHash("sha256").update(bytes).digest("hex");
    await store.putModule(sha, "core", bytes);
  });
  afterAll(async () => {
    if (savedCache === undefined) delete process.env.DWE_CACHE_DIR;
    else process.env.DWE_CACHE_DIR = savedCache;
    await store.close();
    w.cleanup();
  });

  it("instruments and compiles it once: every concurrent caller gets the same compiled module", async () => {
    const loads = await Promise.all(Array.from({ length: 20 }, () => loadExecutable(store, sha, null)));
    expect(new Set(loads).size).toBe(1);
    expect(await store.getArtifact(sha, ASYNCIFY_ARTIFACT)).toBeDefined();
    // One cache entry and one key; no temporary file left behind.
    expect(readdirSync(process.env.DWE_CACHE_DIR!).sort()).toEqual([`${ASYNCIFY_ARTIFACT}-${sha}.signed`, "key"]);
    // A later load (another memory limit) reuses the stored artifact.
    const other = await loadExecutable(store, sha, 32 * 1024 * 1024);
    expect(other).not.toBe(loads[0]);
  });

  it("a failed load is not remembered: the next call tries again", async () => {
    const missing = "f".repeat(64);
    await expect(loadExecutable(store, missing, null)).rejects.toThrow(/missing from the store/);
    const bytes = readFileSync("examples/hello/build/hello.wasm");
    // Store the module under that name now: the next load finds it (content addressing aside).
    await store.putModule(missing, "core", bytes);
    await expect(loadExecutable(store, missing, null)).resolves.toBeInstanceOf(WebAssembly.Module);
  });
});
