// Linear memories recycled from one instance to the next. A fresh WebAssembly memory is a new
// multi-GiB address-space reservation whose first writes (the data segments, the stack) fault
// pages in one by one, and unmapping it costs as much again: 150-270 us per instance of a small
// AssemblyScript guest on the machines measured, a fifth of a short run's CPU in a worker. A memory
// of an instance that has ended is kept instead, and the next instance of a module with the same
// limits gets it zeroed, which costs 2-15 us for the initial sizes of AssemblyScript and Rust guests.
//
// What a guest sees is unchanged: an instance starts on an all-zero memory of its initial size with
// its data segments written, as with a fresh one. A memory that grew is never kept (it cannot shrink
// back), nor one of an instance that may still run (the caller gives it back once the guest's last
// call has returned or thrown, and nothing writes to it after). It is zeroed when taken, not when
// given back, so nothing written to it late could reach the next run.
//
// The price is memory: a thread keeps up to 256 memories of one size and 32 MiB in all resident
// (16 MiB for 256 one-page AssemblyScript memories; B5-rss and B6 in bench/README.md).
import { MEMORY_IMPORT, type MemoryLimits } from "./wasm-binary.js";

const PAGE = 65536;
/** Bytes of memory kept for reuse in this thread, in all, and memories of one size. */
const POOL_BYTES = 32 * 1024 * 1024;
const POOL_COUNT = 256;

/** Compiled modules whose memory is imported (withImportedMemory), with its limits. */
const limitsOf = new WeakMap<WebAssembly.Module, MemoryLimits>();
const idle = new Map<string, WebAssembly.Memory[]>();
let idleBytes = 0;

const keyOf = (l: MemoryLimits) => `${l.initial}/${l.maximum}`;

/** Marks `module` as importing its memory (MEMORY_IMPORT) with these limits: instantiate() provides it. */
export function importsPooledMemory(module: WebAssembly.Module, limits: MemoryLimits): void {
  limitsOf.set(module, limits);
}

/** An instance of a compiled module, and what ends its use of its memory. */
export interface PooledInstance {
  instance: WebAssembly.Instance;
  /** Call once the instance will run no more code and nothing reads or writes its memory. */
  release: () => void;
}

/** Instantiates `module` (synchronously), on a recycled memory if it imports its memory. */
export function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): PooledInstance {
  const limits = limitsOf.get(module);
  if (limits === undefined) return { instance: new WebAssembly.Instance(module, imports), release: () => undefined };
  const memory = take(limits);
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, { ...imports, [MEMORY_IMPORT.module]: { [MEMORY_IMPORT.name]: memory } });
  } catch (err) {
    give(memory, limits);
    throw err;
  }
  let released = false;
  return {
    instance,
    release: () => {
      if (released) return;
      released = true;
      give(memory, limits);
    },
  };
}

function take(limits: MemoryLimits): WebAssembly.Memory {
  const memory = idle.get(keyOf(limits))?.pop();
  if (memory === undefined) return new WebAssembly.Memory(limits);
  idleBytes -= memory.buffer.byteLength;
  new Uint8Array(memory.buffer).fill(0);
  return memory;
}

function give(memory: WebAssembly.Memory, limits: MemoryLimits): void {
  const size = memory.buffer.byteLength;
  if (size !== limits.initial * PAGE || idleBytes + size > POOL_BYTES) return;
  const key = keyOf(limits);
  let list = idle.get(key);
  if (list === undefined) idle.set(key, (list = []));
  if (list.length >= POOL_COUNT) return;
  list.push(memory);
  idleBytes += size;
}

/** Memories kept for reuse now, and their bytes (tests). */
export function idleMemories(): { count: number; bytes: number } {
  let count = 0;
  for (const list of idle.values()) count += list.length;
  return { count, bytes: idleBytes };
}
