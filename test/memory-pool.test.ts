// Recycled linear memories (engine/runtime/memory-pool.ts): an instance starts on exactly what a
// fresh memory would give it, whatever the run before it left behind, and a memory that grew, or
// that may still be written, is not handed on.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import binaryen from "binaryen";
import { CheckedGuestMemory } from "../engine/executor/guest-memory.js";
import { idleMemories, importsPooledMemory, instantiate } from "../engine/runtime/memory-pool.js";
import { MEMORY_IMPORT, withImportedMemory, withMemoryLimit } from "../engine/runtime/wasm-binary.js";
import { Dwe } from "../engine/api/index.js";
import { workdir } from "./support/cli.js";
import { writeWat } from "./support/wat.js";

function binary(text: string, features = binaryen.Features.MVP | binaryen.Features.BulkMemory): Uint8Array {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(features);
    if (!mod.validate()) throw new Error("invalid WAT module");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

// Checks at its start what a fresh memory holds (its data segment, zeros elsewhere, one page), then
// leaves marks everywhere it looked; `grow` grows the memory by a page.
const CHECKER = `(module
  (import "env" "seed" (func $seed (result f64)))
  (memory (export "memory") 1 16)
  (data (i32.const 16) "seg")
  (func $check
    (if (i32.ne (memory.size) (i32.const 1)) (then unreachable))
    (if (i32.ne (i32.load8_u (i32.const 16)) (i32.const 115)) (then unreachable))
    (if (i32.load (i32.const 4096)) (then unreachable))
    (if (i32.load (i32.const 65532)) (then unreachable))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 4096) (i32.const 7))
    (i32.store (i32.const 65532) (i32.const 7)))
  (func (export "run") (call $check))
  (func (export "grow") (call $check) (drop (memory.grow (i32.const 1))))
  (func $unused (drop (call $seed))))`;

describe("withImportedMemory", () => {
  it("moves the defined memory to an import of the same limits, still exported, with its data written into the memory given", () => {
    for (const imports of ["", `(import "env" "seed" (func $seed (result f64)))`]) {
      const bytes = binary(`(module ${imports} (memory (export "memory") 2 9) (data (i32.const 100) "hi") (func (export "run")))`);
      const moved = withImportedMemory(bytes)!;
      expect(moved.limits).toEqual({ initial: 2, maximum: 9 });
      const module = new WebAssembly.Module(moved.bytes as Uint8Array<ArrayBuffer>);
      expect(WebAssembly.Module.imports(module)).toContainEqual({ module: MEMORY_IMPORT.module, name: MEMORY_IMPORT.name, kind: "memory" });
      expect(WebAssembly.Module.exports(module)).toContainEqual({ name: "memory", kind: "memory" });
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 9 });
      const instance = new WebAssembly.Instance(module, {
        env: { seed: () => 1 },
        [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory },
      });
      expect(instance.exports.memory).toBe(memory);
      expect(new TextDecoder().decode(new Uint8Array(memory.buffer, 100, 2))).toBe("hi");
    }
  });

  it("leaves alone a module without a memory, with a shared one, or whose memory has no maximum", () => {
    expect(withImportedMemory(binary(`(module (func (export "run")))`))).toBeNull();
    const F = binaryen.Features;
    expect(withImportedMemory(binary(`(module (memory (export "memory") 1 4 shared))`, F.MVP | F.Atomics | F.BulkMemory))).toBeNull();
    const unbounded = binary(`(module (memory (export "memory") 1))`);
    expect(withImportedMemory(unbounded)).toBeNull();
    expect(withImportedMemory(withMemoryLimit(unbounded, 32))!.limits).toEqual({ initial: 1, maximum: 32 });
  });
});

describe("memory pool", () => {
  const moved = withImportedMemory(binary(CHECKER))!;
  const module = new WebAssembly.Module(moved.bytes as Uint8Array<ArrayBuffer>);
  importsPooledMemory(module, moved.limits);
  const imports = { env: { seed: () => 1 } };

  it("hands an ended instance's memory to the next instance, zeroed, with its data segments written again", () => {
    const first = instantiate(module, imports);
    (first.instance.exports.run as () => void)();
    const used = first.instance.exports.memory as WebAssembly.Memory;
    first.release();
    first.release(); // twice is once
    expect(idleMemories().count).toBeGreaterThan(0);
    const second = instantiate(module, imports);
    expect(second.instance.exports.memory).toBe(used);
    // The checks trap if anything of the first run is left, or the data segment is missing.
    (second.instance.exports.run as () => void)();
    second.release();
  });

  it("does not hand on a memory that grew: the next instance starts at the initial size", () => {
    const grown = instantiate(module, imports);
    (grown.instance.exports.grow as () => void)();
    const memory = grown.instance.exports.memory as WebAssembly.Memory;
    grown.release();
    const next = instantiate(module, imports);
    expect(next.instance.exports.memory).not.toBe(memory);
    (next.instance.exports.run as () => void)();
    next.release();
  });

  it("a memory is refused to host code once its instance ended", () => {
    const { instance, release } = instantiate(module, imports);
    const memory = new CheckedGuestMemory();
    memory.bind(instance.exports.memory as WebAssembly.Memory);
    memory.write(4096, new Uint8Array([1]), "test");
    memory.unbind();
    release();
    expect(memory.byteLength).toBe(65536);
    expect(() => memory.read(4096, 1, "test")).toThrow(/after its instance ended/);
    expect(() => memory.write(4096, new Uint8Array([1]), "test")).toThrow(/after its instance ended/);
  });
});

describe("runs one after another in one process", () => {
  const w = workdir("dwe-memory-pool-");
  afterAll(() => w.cleanup());

  it("each starts on a memory as fresh as the first's, whether the run before grew its memory or not", async () => {
    const wasm = writeWat(join(w.dir, "checker.wasm"), CHECKER);
    const dwe = await Dwe.open({ db: w.db });
    try {
      for (const entry of ["run", "run", "grow", "run", "grow", "grow", "run"]) {
        const run = await dwe.start(wasm, { entry });
        const ended = await run.ended();
        expect(ended.error).toBeNull();
        expect(ended.status).toBe("completed");
      }
    } finally {
      await dwe.close();
    }
  });
});
