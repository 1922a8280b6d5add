// The per-user cache is only an accelerator: a file planted in it (by a guest that once had a grant
// over it, another program, a copy from elsewhere) is never executed. Instrumented modules carry a
// MAC under the cache's own key; a file that fails it is discarded and the module instrumented again.
// (Transpiled components are never read from the cache at all: see test/components.test.ts.)
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, workdir } from "./support/cli.js";
import { abiGuest } from "./support/guest-wat.js";
import { ASYNCIFY_ARTIFACT } from "../engine/runtime/asyncify.js";

/** A guest that sets its output to `word` (5 letters) with one dwe.call: small, so instrumenting it is quick. */
const outputs = (dir: string, word: string) =>
  abiGuest(dir, word, {
    data: { 0: "run.output", 16: `\\c4\\05${word}` },
    body: "(drop (call $call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const 7)))",
  });

describe("the per-user artifact cache", () => {
  let w: ReturnType<typeof workdir>;
  let cache: string;
  let env: Record<string, string>;
  let real: string;
  let sha: string;
  beforeEach(() => {
    w = workdir("dwe-cache-");
    cache = join(w.dir, "cache");
    env = { DWE_CACHE_DIR: cache };
    real = outputs(w.dir, "right");
    sha = createHash("sha256").update(readFileSync(real)).digest("hex");
  });
  afterEach(() => w.cleanup());

  /** Runs the real module on a database of its own (so only the cache can supply the instrumented module). */
  // Asynchronous: instrumenting takes seconds, and a blocked test process misses vitest's heartbeats.
  const runReal = (name: string) => dweAsync(["run", real, "--quiet"], { cwd: w.dir, db: join(w.dir, `${name}.db`), env });

  /** A compilable module with the same imports and exports that sets the output "pwned". */
  const planted = () => readFileSync(outputs(w.dir, "pwned"));

  it("a module planted under the artifact's name, with or without a forged MAC, is discarded: a fresh database runs the real module", async () => {
    const first = await runReal("a");
    expect(first.stdout.trim()).toBe("right");
    const entry = join(cache, `${ASYNCIFY_ARTIFACT}-${sha}.signed`);
    expect(existsSync(entry)).toBe(true);
    const bad = planted();
    // The plain name older dwe read, and the signed entry with a MAC that is not under the cache's key.
    writeFileSync(join(cache, `${ASYNCIFY_ARTIFACT}-${sha}.wasm`), bad);
    writeFileSync(entry, Buffer.concat([Buffer.alloc(32, 7), bad]));

    const second = await runReal("b");
    expect(second.stdout.trim()).toBe("right");
    expect(second.stdout).not.toContain("pwned");
    // Rebuilt and signed again: the planted bytes are gone.
    expect(readFileSync(entry).subarray(32).equals(bad)).toBe(false);
    expect((await runReal("c")).stdout.trim()).toBe("right");
  });

  it("a cache key that others can read is not trusted: the cache is neither read nor written", async () => {
    expect((await runReal("a")).stdout.trim()).toBe("right");
    chmodSync(join(cache, "key"), 0o644);
    const entry = join(cache, `${ASYNCIFY_ARTIFACT}-${sha}.signed`);
    writeFileSync(entry, Buffer.concat([Buffer.alloc(32, 7), planted()]));
    expect((await runReal("b")).stdout.trim()).toBe("right");
    expect(readdirSync(cache).sort()).toEqual([`${ASYNCIFY_ARTIFACT}-${sha}.signed`, "key"]);
    expect(readFileSync(entry).subarray(0, 32).equals(Buffer.alloc(32, 7))).toBe(true);
  });
});
