import type { GuestMemory } from "../../engine/kernel/guest-memory.js";
import { Errno, ERRNO, Fault } from "./errno.js";
import { MAX_IOVECS, SIZE } from "./constants.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** Bytes one fd_write/fd_pwrite takes from the guest (the file write limit, files.ts MAX_WRITE). */
export const MAX_GATHER = 16 * 1024 * 1024;
const ENCODER = new TextEncoder();

/**
 * Bounds-checked little-endian access to guest memory for WASI calls. Unlike the `dwe` ABI (which
 * traps), a wild pointer here throws Fault, which the import wrapper turns into EFAULT: that is
 * what a POSIX program expects from a bad buffer. Output pointers are checked before any
 * journaled call, so a fault never follows an effect.
 */
export class WasiMemory {
  private buffer: ArrayBuffer | null = null;
  private dv: DataView | null = null;
  private u8: Uint8Array | null = null;

  constructor(private readonly guest: GuestMemory) {}

  /** The current views; refreshed when the guest has grown its memory since the last call. */
  private get view(): DataView {
    const buffer = this.guest.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.dv = new DataView(buffer);
      this.u8 = new Uint8Array(buffer);
    }
    return this.dv!;
  }

  /** Throws Fault unless [ptr, ptr+len) is inside memory. Pointers are i32: read as unsigned. */
  check(ptr: number, len: number): number {
    const p = ptr >>> 0;
    if (p + len > this.view.byteLength) throw new Fault(`[${p}, +${len}) is outside guest memory`);
    return p;
  }

  u8At(ptr: number): number {
    return this.view.getUint8(this.check(ptr, 1));
  }
  u16(ptr: number): number {
    return this.view.getUint16(this.check(ptr, 2), true);
  }
  u32(ptr: number): number {
    return this.view.getUint32(this.check(ptr, 4), true);
  }
  u64(ptr: number): bigint {
    return this.view.getBigUint64(this.check(ptr, 8), true);
  }
  setU8(ptr: number, v: number): void {
    this.view.setUint8(this.check(ptr, 1), v);
  }
  setU16(ptr: number, v: number): void {
    this.view.setUint16(this.check(ptr, 2), v, true);
  }
  setU32(ptr: number, v: number): void {
    this.view.setUint32(this.check(ptr, 4), v >>> 0, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.view.setBigUint64(this.check(ptr, 8), BigInt.asUintN(64, v), true);
  }

  /** A copy of guest bytes. */
  bytes(ptr: number, len: number): Uint8Array {
    const p = this.check(ptr, len);
    return this.u8!.slice(p, p + len);
  }

  write(ptr: number, bytes: Uint8Array): void {
    const p = this.check(ptr, bytes.length);
    this.u8!.set(bytes, p);
  }

  /** A UTF-8 path or name; invalid UTF-8 is EILSEQ's business, reported by the caller as EINVAL. */
  string(ptr: number, len: number): string | null {
    try {
      return UTF8.decode(this.bytes(ptr, len));
    } catch (err) {
      if (err instanceof Fault) throw err;
      return null;
    }
  }

  /** The iovec/ciovec array: checks every entry, returns [ptr, len] pairs and their total; over MAX_IOVECS is EINVAL. */
  iovecs(ptr: number, count: number): { list: Array<[number, number]>; total: number } {
    if (count >>> 0 > MAX_IOVECS) throw new Errno(ERRNO.EINVAL);
    this.check(ptr, (count >>> 0) * SIZE.IOVEC);
    const list: Array<[number, number]> = [];
    let total = 0;
    for (let i = 0; i < count >>> 0; i++) {
      const buf = this.u32(ptr + i * SIZE.IOVEC);
      const len = this.u32(ptr + i * SIZE.IOVEC + 4);
      this.check(buf, len);
      list.push([buf, len]);
      total += len;
    }
    return { list, total };
  }

  /**
   * Concatenates the bytes of a ciovec array (for writes), at most MAX_GATHER of them (a short
   * write): iovecs may all point at the same buffer, so their total is not bounded by guest memory.
   */
  gather(ptr: number, count: number): Uint8Array {
    const { list, total } = this.iovecs(ptr, count);
    if (list.length === 1) return this.bytes(list[0]![0], Math.min(list[0]![1], MAX_GATHER));
    const out = new Uint8Array(Math.min(total, MAX_GATHER));
    let at = 0;
    for (const [p, l] of list) {
      const n = Math.min(l, out.length - at);
      out.set(this.u8!.subarray(p >>> 0, (p >>> 0) + n), at);
      at += n;
      if (at === out.length) break;
    }
    return out;
  }

  /** Spreads `data` over an iovec array (for reads); returns the bytes placed. */
  scatter(list: ReadonlyArray<[number, number]>, data: Uint8Array): number {
    let at = 0;
    for (const [p, l] of list) {
      if (at >= data.length) break;
      const n = Math.min(l, data.length - at);
      this.write(p, data.subarray(at, at + n));
      at += n;
    }
    return at;
  }
}

export function utf8(s: string): Uint8Array {
  return ENCODER.encode(s);
}
