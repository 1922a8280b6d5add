import { AbiViolation } from "../kernel/errors.js";
import type { GuestMemory } from "../kernel/guest-memory.js";

/** Bounds-checked access to a guest's linear memory. Every pointer from a guest goes through here. */
export class CheckedGuestMemory implements GuestMemory {
  private memory: WebAssembly.Memory | null = null;
  /** A view of the whole memory; growing the memory detaches it (length 0), and it is renewed. */
  private u8: Uint8Array = new Uint8Array(0);
  /** Short strings read before (operation names), so a hot call does not decode its name again. */
  private readonly names: { bytes: Uint8Array; text: string }[] = [];

  /** The memory's size when it was unbound (-1: bound, or never bound). */
  private sizeAtEnd = -1;

  bind(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.u8 = new Uint8Array(0);
  }

  /**
   * The instance has ended: no access is made any more (its memory may be recycled for another
   * run, memory-pool.ts); one that is attempted throws.
   */
  unbind(): void {
    if (this.memory === null) return;
    this.sizeAtEnd = this.memory.buffer.byteLength;
    this.memory = null;
    this.u8 = new Uint8Array(0);
  }

  get bound(): boolean {
    return this.memory !== null;
  }

  /** The memory's size in bytes now, or when its instance ended; 0 if there was none. */
  get byteLength(): number {
    return this.memory !== null ? this.memory.buffer.byteLength : Math.max(0, this.sizeAtEnd);
  }

  get buffer(): ArrayBuffer {
    if (this.sizeAtEnd >= 0) throw new Error("internal: guest memory accessed after its instance ended");
    // Memory is bound once the module is instantiated (and checked to export it): a host call before
    // that comes from the module's start function, i.e. code at the top level of the source.
    if (!this.memory) {
      throw new AbiViolation(
        "the module called dwe while it was being instantiated, before its entry point ran (a call at the top level " +
          "of the source, outside any function, e.g. an SDK call in AssemblyScript's top-level code); move the call into the exported function",
      );
    }
    return this.memory.buffer;
  }

  /** The whole memory as bytes, after checking that [ptr, ptr + len) is inside it (ptr, len unsigned). */
  private bytes(ptr: number, len: number, what: string): Uint8Array {
    let u8 = this.u8;
    if (ptr + len > u8.length) {
      u8 = this.u8 = new Uint8Array(this.buffer);
      if (ptr + len > u8.length) {
        throw new AbiViolation(`${what}: range [${ptr}, +${len}) is outside guest memory (${u8.length} bytes)`);
      }
    }
    return u8;
  }

  /** A copy of guest bytes. */
  read(ptr: number, len: number, what: string): Uint8Array {
    const p = ptr >>> 0;
    const l = len >>> 0;
    return this.bytes(p, l, what).slice(p, p + l);
  }

  readString(ptr: number, len: number, what: string): string {
    const p = ptr >>> 0;
    const l = len >>> 0;
    const u8 = this.bytes(p, l, what);
    if (l <= MAX_NAME) {
      for (const n of this.names) if (n.bytes.length === l && sameBytes(n.bytes, u8, p)) return n.text;
    }
    let text: string;
    try {
      text = DECODER.decode(u8.subarray(p, p + l));
    } catch {
      throw new AbiViolation(`${what}: not valid UTF-8`);
    }
    if (l <= MAX_NAME && this.names.length < MAX_NAMES) this.names.push({ bytes: u8.slice(p, p + l), text });
    return text;
  }

  write(ptr: number, bytes: Uint8Array, what: string): void {
    const p = ptr >>> 0;
    this.bytes(p, bytes.length, what).set(bytes, p);
  }

  view(): DataView {
    return new DataView(this.buffer);
  }

  u32(ptr: number, what: string): number {
    const p = ptr >>> 0;
    this.bytes(p, 4, what);
    return this.view().getUint32(p, true);
  }

  setU32(ptr: number, value: number, what: string): void {
    const p = ptr >>> 0;
    this.bytes(p, 4, what);
    this.view().setUint32(p, value >>> 0, true);
  }

  setU64(ptr: number, value: bigint, what: string): void {
    const p = ptr >>> 0;
    this.bytes(p, 8, what);
    this.view().setBigUint64(p, BigInt.asUintN(64, value), true);
  }
}

const DECODER = new TextDecoder("utf-8", { fatal: true });
const MAX_NAME = 64;
const MAX_NAMES = 64;

function sameBytes(a: Uint8Array, mem: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== mem[at + i]) return false;
  return true;
}
