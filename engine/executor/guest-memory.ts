import { AbiViolation } from "../errors.js";

/** Bounds-checked access to a guest's linear memory. Every pointer from a guest goes through here. */
export class GuestMemory {
  private memory: WebAssembly.Memory | null = null;

  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  get buffer(): ArrayBuffer {
    if (!this.memory) throw new AbiViolation("the module does not export its memory as 'memory'");
    return this.memory.buffer;
  }

  private check(ptr: number, len: number, what: string): void {
    const size = this.buffer.byteLength;
    // Pointers arrive as i32: read them as unsigned.
    if (ptr < 0 || len < 0 || ptr + len > size) {
      throw new AbiViolation(`${what}: range [${ptr >>> 0}, +${len >>> 0}) is outside guest memory (${size} bytes)`);
    }
  }

  /** A copy of guest bytes. */
  read(ptr: number, len: number, what: string): Uint8Array {
    const p = ptr >>> 0;
    const l = len >>> 0;
    this.check(p, l, what);
    return new Uint8Array(this.buffer, p, l).slice();
  }

  readString(ptr: number, len: number, what: string): string {
    const bytes = this.read(ptr, len, what);
    try {
      return DECODER.decode(bytes);
    } catch {
      throw new AbiViolation(`${what}: not valid UTF-8`);
    }
  }

  write(ptr: number, bytes: Uint8Array, what: string): void {
    const p = ptr >>> 0;
    this.check(p, bytes.length, what);
    new Uint8Array(this.buffer, p, bytes.length).set(bytes);
  }

  view(): DataView {
    return new DataView(this.buffer);
  }

  u32(ptr: number, what: string): number {
    const p = ptr >>> 0;
    this.check(p, 4, what);
    return this.view().getUint32(p, true);
  }

  setU32(ptr: number, value: number, what: string): void {
    const p = ptr >>> 0;
    this.check(p, 4, what);
    this.view().setUint32(p, value >>> 0, true);
  }

  setU64(ptr: number, value: bigint, what: string): void {
    const p = ptr >>> 0;
    this.check(p, 8, what);
    this.view().setBigUint64(p, BigInt.asUintN(64, value), true);
  }
}

const DECODER = new TextDecoder("utf-8", { fatal: true });
