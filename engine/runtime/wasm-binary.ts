import { InvalidModule } from "../errors.js";
import type { ModuleKind } from "../store/types.js";

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** Tells a core module from a component by the header; refuses anything else with a clear message. */
export function detectKind(bytes: Uint8Array, name: string): ModuleKind {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InvalidModule(`${name} is not a WebAssembly file (no \\0asm header); pass a .wasm module or component`);
  }
  const version = bytes[4]! | (bytes[5]! << 8);
  const layer = bytes[6]! | (bytes[7]! << 8);
  if (version === 1 && layer === 0) return "core";
  if (layer === 1) return "component";
  throw new InvalidModule(`${name} has an unknown WebAssembly version ${version}/layer ${layer}`);
}

function readU32(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw new InvalidModule("truncated LEB128 in module");
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result >>> 0, pos + i + 1];
    shift += 7;
  }
  throw new InvalidModule("LEB128 too long in module");
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/**
 * Caps the maximum of a module's own (defined, not imported) 32-bit memories at `maxPages`, so a
 * guest that grows past its limit sees `memory.grow` fail (and traps or aborts) instead of taking
 * the host's memory. A module whose initial size is already past the limit is refused.
 */
export function withMemoryLimit(bytes: Uint8Array, maxPages: number): Uint8Array {
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, bodyStart] = readU32(bytes, pos + 1);
    const end = bodyStart + size;
    if (end > bytes.length) throw new InvalidModule("module is truncated (a section runs past the end of the file)");
    if (id === 5) {
      const out: number[] = [];
      let [count, p] = readU32(bytes, bodyStart);
      out.push(...writeU32(count));
      while (count-- > 0) {
        const flags = bytes[p]!;
        if (flags & ~0x01) return bytes; // shared or 64-bit memory: leave alone (instantiation will refuse it)
        let initial: number;
        [initial, p] = readU32(bytes, p + 1);
        let max = maxPages;
        if (flags & 0x01) {
          let declared: number;
          [declared, p] = readU32(bytes, p);
          max = Math.min(declared, maxPages);
        }
        if (initial > maxPages) {
          throw new InvalidModule(
            `module needs ${initial} pages of memory at start, over the limit of ${maxPages} pages; raise --max-memory`,
          );
        }
        out.push(0x01, ...writeU32(initial), ...writeU32(max));
      }
      const header = [5, ...writeU32(out.length)];
      const result = new Uint8Array(pos + header.length + out.length + (bytes.length - end));
      result.set(bytes.subarray(0, pos), 0);
      result.set(header, pos);
      result.set(out, pos + header.length);
      result.set(bytes.subarray(end), pos + header.length + out.length);
      return result;
    }
    pos = end;
  }
  return bytes;
}

/** Compiles a core module, turning V8's CompileError into a message that names the file. */
export function compileCore(bytes: Uint8Array, name: string): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new InvalidModule(`${name} is not a valid WebAssembly module: ${(err as Error).message}; rebuild it`, { cause: err });
  }
}
