import { InvalidModule } from "../kernel/errors.js";
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
 * Table elements a module may have in all its tables together (each costs the host a slot, 8 bytes
 * or more); `table.grow` past its share returns -1. Rust and AssemblyScript tables have a fixed size
 * of a few hundred or thousand entries.
 */
export const MAX_TABLE_ELEMENTS = 1 << 20;

/**
 * Caps what a module's own (defined, not imported) memories and tables can grow to: the memory's
 * maximum at `maxPages` (shared memories too), so a guest that grows past its limit sees
 * `memory.grow` fail (and traps or aborts) instead of taking the host's memory; the tables'
 * maximums so that together they hold at most MAX_TABLE_ELEMENTS. A module whose initial sizes are
 * already past the limits, that defines more than one memory, or a 64-bit memory, is refused.
 */
export function withMemoryLimit(bytes: Uint8Array, maxPages: number): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let changed = false;
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, bodyStart] = readU32(bytes, pos + 1);
    const end = bodyStart + size;
    if (end > bytes.length) throw new InvalidModule("module is truncated (a section runs past the end of the file)");
    const body = id === 5 ? cappedMemories(bytes, bodyStart, maxPages) : id === 4 ? cappedTables(bytes, bodyStart) : null;
    if (body === null) {
      parts.push(bytes.subarray(pos, end));
    } else {
      parts.push(new Uint8Array([id, ...writeU32(body.length), ...body]));
      changed = true;
    }
    pos = end;
  }
  if (!changed) return bytes;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads limits (flags already read): [initial, declared maximum or null, next position]. */
function readLimits(bytes: Uint8Array, flags: number, p: number): [number, number | null, number] {
  let initial: number;
  [initial, p] = readU32(bytes, p);
  if ((flags & 0x01) === 0) return [initial, null, p];
  let max: number;
  [max, p] = readU32(bytes, p);
  return [initial, max, p];
}

function cappedMemories(bytes: Uint8Array, at: number, maxPages: number): number[] {
  let [count, p] = readU32(bytes, at);
  if (count > 1) throw new InvalidModule(`module defines ${count} memories; dwe runs modules with one memory`);
  const out = writeU32(count);
  while (count-- > 0) {
    const flags = bytes[p]!;
    if (flags & ~0x03) throw new InvalidModule("module defines a 64-bit memory, which dwe does not run; build for wasm32");
    const [initial, declared, next] = readLimits(bytes, flags, p + 1);
    p = next;
    if (initial > maxPages) {
      throw new InvalidModule(`module needs ${initial} pages of memory at start, over the limit of ${maxPages} pages; raise --max-memory`);
    }
    // A shared memory (flag 0x02) has a maximum and keeps its flag; both get the run's cap.
    out.push(flags | 0x01, ...writeU32(initial), ...writeU32(Math.min(declared ?? maxPages, maxPages)));
  }
  return out;
}

function cappedTables(bytes: Uint8Array, at: number): number[] {
  const [count, start] = readU32(bytes, at);
  let p = start;
  const tables: { type: number; initial: number; declared: number | null }[] = [];
  for (let i = 0; i < count; i++) {
    const type = bytes[p]!;
    const flags = bytes[p + 1]!;
    if ((type !== 0x70 && type !== 0x6f) || flags & ~0x01) {
      throw new InvalidModule("module defines a table of a kind dwe does not run (only funcref and externref tables, 32-bit)");
    }
    const [initial, declared, next] = readLimits(bytes, flags, p + 2);
    tables.push({ type, initial, declared });
    p = next;
  }
  const total = tables.reduce((n, t) => n + t.initial, 0);
  if (total > MAX_TABLE_ELEMENTS) {
    throw new InvalidModule(`module's tables start with ${total} elements, over the limit of ${MAX_TABLE_ELEMENTS}`);
  }
  // Each table may grow by an equal share of what is left, so all of them together stay in bounds.
  const share = count === 0 ? 0 : Math.floor((MAX_TABLE_ELEMENTS - total) / count);
  const out = writeU32(count);
  for (const t of tables) {
    out.push(t.type, 0x01, ...writeU32(t.initial), ...writeU32(Math.min(t.declared ?? Infinity, t.initial + share)));
  }
  return out;
}

/** Where a module whose memory was moved to an import (`withImportedMemory`) imports it from. */
export const MEMORY_IMPORT = { module: "dwe-host", name: "memory" } as const;

/** A memory's size limits, in 64 KiB pages. */
export interface MemoryLimits {
  initial: number;
  maximum: number;
}

/**
 * The module with the memory it defines turned into an import of the same limits (MEMORY_IMPORT),
 * so that its host can hand each instance a recycled memory (memory-pool.ts): its index stays 0
 * (a module defines at most one memory and imports none, inspectModule), and it is still exported
 * as it was. Null, and nothing changed, for a module with no memory, a shared one, or one without a
 * maximum (run it after withMemoryLimit, which gives every other memory one).
 */
export function withImportedMemory(bytes: Uint8Array): { bytes: Uint8Array; limits: MemoryLimits } | null {
  const sections: { id: number; start: number; body: number; end: number }[] = [];
  for (let pos = 8; pos < bytes.length;) {
    const [size, body] = readU32(bytes, pos + 1);
    const end = body + size;
    if (end > bytes.length) throw new InvalidModule("module is truncated (a section runs past the end of the file)");
    sections.push({ id: bytes[pos]!, start: pos, body, end });
    pos = end;
  }
  const memory = sections.find((s) => s.id === 5);
  if (memory === undefined) return null;
  const [count, p] = readU32(bytes, memory.body);
  if (count !== 1 || bytes[p] !== 0x01) return null;
  const [initial, maximum, next] = readLimits(bytes, 0x01, p + 1);
  if (maximum === null || next !== memory.end) return null;
  const entry = [
    ...importName(MEMORY_IMPORT.module),
    ...importName(MEMORY_IMPORT.name),
    0x02,
    0x01,
    ...writeU32(initial),
    ...writeU32(maximum),
  ];
  const imports = sections.find((s) => s.id === 2);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let placed = false;
  const place = (body: Uint8Array[]) => {
    const length = body.reduce((n, b) => n + b.length, 0);
    parts.push(new Uint8Array([2, ...writeU32(length)]), ...body);
    placed = true;
  };
  for (const s of sections) {
    if (s === memory) continue;
    if (s === imports) {
      const [n, first] = readU32(bytes, s.body);
      place([new Uint8Array(writeU32(n + 1)), bytes.subarray(first, s.end), new Uint8Array(entry)]);
      continue;
    }
    // A new import section goes after the type section (and custom sections), before all others.
    if (!placed && imports === undefined && s.id !== 0 && s.id !== 1) place([new Uint8Array([1, ...entry])]);
    parts.push(bytes.subarray(s.start, s.end));
  }
  if (!placed) place([new Uint8Array([1, ...entry])]);
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out.set(b, at);
    at += b.length;
  }
  return { bytes: out, limits: { initial, maximum } };
}

function importName(text: string): number[] {
  const utf8 = new TextEncoder().encode(text);
  return [...writeU32(utf8.length), ...utf8];
}

/** The names a core module exports, read from its export section (without compiling it). */
export function exportNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, bodyStart] = readU32(bytes, pos + 1);
    const end = bodyStart + size;
    if (end > bytes.length) throw new InvalidModule("module is truncated (a section runs past the end of the file)");
    if (id === 7) {
      let [count, p] = readU32(bytes, bodyStart);
      while (count-- > 0) {
        let len: number;
        [len, p] = readU32(bytes, p);
        if (p + len > end) throw new InvalidModule("module is truncated (an export name runs past its section)");
        names.push(NAME_DECODER.decode(bytes.subarray(p, p + len)));
        [, p] = readU32(bytes, p + len + 1); // kind byte, then the index
      }
      return names;
    }
    pos = end;
  }
  return names;
}

const NAME_DECODER = new TextDecoder();

/** Compiles a core module, turning V8's CompileError into a message that names the file. */
export function compileCore(bytes: Uint8Array, name: string): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new InvalidModule(`${name} is not a valid WebAssembly module: ${(err as Error).message}; rebuild it`, { cause: err });
  }
}
