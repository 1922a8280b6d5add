// MessagePack for AssemblyScript: a dynamic value tree (`MsgValue` and subclasses), a streaming
// `MsgWriter` and a `MsgReader`. Covers nil, bool, int (up to 64 bits, signed and unsigned),
// float (32-bit on input, 64-bit on output), str, bin, array, map and ext.
//
// Nothing here talks to the host; it is plain data handling and can be used on its own.

/** The type of a `MsgValue`. */
export enum MsgKind {
  Nil,
  Bool,
  Int,
  Float,
  Str,
  Bin,
  Array,
  Map,
  Ext,
}

/** @internal Aborts with a type error naming the wanted and the actual kind. */
function typeError(want: string, got: MsgKind): void {
  throw new Error("msgpack: expected " + want + ", got " + kindName(got));
}

/** The lower-case name of a kind, for messages ("nil", "int", "map", ...). */
export function kindName(kind: MsgKind): string {
  switch (kind) {
    case MsgKind.Nil: return "nil";
    case MsgKind.Bool: return "bool";
    case MsgKind.Int: return "int";
    case MsgKind.Float: return "float";
    case MsgKind.Str: return "str";
    case MsgKind.Bin: return "bin";
    case MsgKind.Array: return "array";
    case MsgKind.Map: return "map";
    case MsgKind.Ext: return "ext";
  }
  return "unknown";
}

/**
 * A decoded (or to-be-encoded) MessagePack value. The `as*` accessors convert where it is
 * lossless or customary (an integral float to an int, a str to bytes and back) and abort with a
 * type error otherwise; check `kind` first when the type is not known.
 */
export class MsgValue {
  constructor(public readonly kind: MsgKind) {}

  /** True for nil. */
  get isNil(): bool { return this.kind == MsgKind.Nil; }

  /** The boolean value. Aborts unless this is a bool. */
  asBool(): bool { typeError("bool", this.kind); return false; }

  /** The value as a signed 64-bit integer. Ints and integral floats are accepted. */
  asI64(): i64 { typeError("int", this.kind); return 0; }

  /** The value as an unsigned 64-bit integer (uint64 values above i64 max survive). */
  asU64(): u64 { return <u64>this.asI64(); }

  /** The value as a 32-bit integer (truncating). */
  asI32(): i32 { return <i32>this.asI64(); }

  /** The value as a float. Ints are converted. */
  asF64(): f64 { typeError("float", this.kind); return 0; }

  /** The value as a string. Str, and bin (decoded as UTF-8), are accepted. */
  asString(): string { typeError("str", this.kind); return ""; }

  /** The value as bytes. Bin, and str (encoded as UTF-8), are accepted; nil gives empty bytes. */
  asBytes(): Uint8Array { typeError("bin", this.kind); return new Uint8Array(0); }

  /** The elements of an array. */
  asArray(): MsgValue[] { typeError("array", this.kind); return []; }

  /** The value as a map. */
  asMap(): MsgMap { typeError("map", this.kind); return new MsgMap(); }

  /** The entry of a map under a string key, or null when absent (also null when this is not a map). */
  get(key: string): MsgValue | null { return null; }

  /** Writes this value to `w`. */
  encodeTo(w: MsgWriter): void { w.nil(); }

  /** Encodes this value to fresh bytes. */
  encode(): Uint8Array {
    const w = new MsgWriter();
    this.encodeTo(w);
    return w.finish();
  }
}

/** nil. */
export class MsgNil extends MsgValue {
  constructor() { super(MsgKind.Nil); }
  asBytes(): Uint8Array { return new Uint8Array(0); }
  encodeTo(w: MsgWriter): void { w.nil(); }
}

/** true / false. */
export class MsgBool extends MsgValue {
  constructor(public value: bool) { super(MsgKind.Bool); }
  asBool(): bool { return this.value; }
  encodeTo(w: MsgWriter): void { w.bool(this.value); }
}

/**
 * An integer. `value` holds the bits; `unsigned` is set for uint64 values above i64 max
 * (then `value` is negative as an i64 and `asU64()` gives the real value).
 */
export class MsgInt extends MsgValue {
  constructor(public value: i64, public unsigned: bool = false) { super(MsgKind.Int); }
  asI64(): i64 { return this.value; }
  asU64(): u64 { return <u64>this.value; }
  asF64(): f64 { return this.unsigned ? <f64><u64>this.value : <f64>this.value; }
  encodeTo(w: MsgWriter): void {
    if (this.unsigned) w.uint(<u64>this.value);
    else w.int(this.value);
  }
}

/** A float (always encoded as float64). */
export class MsgFloat extends MsgValue {
  constructor(public value: f64) { super(MsgKind.Float); }
  asF64(): f64 { return this.value; }
  asI64(): i64 {
    // Hosts written with msgpackr encode integers beyond 32 bits as float64.
    if (!isFinite(this.value) || Math.floor(this.value) != this.value) {
      throw new Error("msgpack: expected int, got non-integral float " + this.value.toString());
    }
    return <i64>this.value;
  }
  asU64(): u64 { return this.value >= 9223372036854775808.0 ? <u64>this.value : <u64>this.asI64(); }
  encodeTo(w: MsgWriter): void { w.float(this.value); }
}

/** A UTF-8 string. */
export class MsgStr extends MsgValue {
  constructor(public value: string) { super(MsgKind.Str); }
  asString(): string { return this.value; }
  asBytes(): Uint8Array { return Uint8Array.wrap(String.UTF8.encode(this.value)); }
  encodeTo(w: MsgWriter): void { w.str(this.value); }
}

/** Raw bytes. */
export class MsgBin extends MsgValue {
  constructor(public value: Uint8Array) { super(MsgKind.Bin); }
  asBytes(): Uint8Array { return this.value; }
  asString(): string {
    return String.UTF8.decodeUnsafe(this.value.dataStart, <usize>this.value.length);
  }
  encodeTo(w: MsgWriter): void { w.bin(this.value); }
}

/** An array. */
export class MsgArray extends MsgValue {
  constructor(public items: MsgValue[] = []) { super(MsgKind.Array); }
  asArray(): MsgValue[] { return this.items; }
  /** Appends an element; returns this array for chaining. */
  push(v: MsgValue): MsgArray { this.items.push(v); return this; }
  get length(): i32 { return this.items.length; }
  encodeTo(w: MsgWriter): void {
    w.arrayHeader(<u32>this.items.length);
    for (let i = 0; i < this.items.length; i++) this.items[i].encodeTo(w);
  }
}

/** A map. Keys keep their insertion (or wire) order; keys need not be strings. */
export class MsgMap extends MsgValue {
  keys: MsgValue[] = [];
  values: MsgValue[] = [];

  constructor() { super(MsgKind.Map); }

  asMap(): MsgMap { return this; }

  get size(): i32 { return this.keys.length; }

  /** Index of the entry with string key `key`, or -1. */
  indexOf(key: string): i32 {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      if (k.kind == MsgKind.Str && (<MsgStr>k).value == key) return i;
    }
    return -1;
  }

  get(key: string): MsgValue | null {
    const i = this.indexOf(key);
    return i < 0 ? null : this.values[i];
  }

  /** True if the map has `key` with a non-nil value. */
  has(key: string): bool {
    const v = this.get(key);
    return v !== null && !v.isNil;
  }

  /** Sets (or replaces) the entry under a string key; returns this map for chaining. */
  set(key: string, value: MsgValue): MsgMap {
    const i = this.indexOf(key);
    if (i >= 0) {
      this.values[i] = value;
    } else {
      this.keys.push(new MsgStr(key));
      this.values.push(value);
    }
    return this;
  }

  /** Adds an entry with an arbitrary key (no replacement). */
  add(key: MsgValue, value: MsgValue): MsgMap {
    this.keys.push(key);
    this.values.push(value);
    return this;
  }

  /** `get(key).asString()`, or `def` when absent or nil. */
  getString(key: string, def: string = ""): string {
    const v = this.get(key);
    if (v === null || v.isNil) return def;
    return v.asString();
  }

  /** `get(key).asI64()`, or `def` when absent or nil. */
  getI64(key: string, def: i64 = 0): i64 {
    const v = this.get(key);
    if (v === null || v.isNil) return def;
    return v.asI64();
  }

  /** `get(key).asF64()`, or `def` when absent or nil. */
  getF64(key: string, def: f64 = 0): f64 {
    const v = this.get(key);
    if (v === null || v.isNil) return def;
    return v.asF64();
  }

  /** `get(key).asBool()`, or `def` when absent or nil. */
  getBool(key: string, def: bool = false): bool {
    const v = this.get(key);
    if (v === null || v.isNil) return def;
    return v.asBool();
  }

  /** `get(key).asBytes()`, or empty bytes when absent or nil. */
  getBytes(key: string): Uint8Array {
    const v = this.get(key);
    if (v === null || v.isNil) return new Uint8Array(0);
    return v.asBytes();
  }

  encodeTo(w: MsgWriter): void {
    w.mapHeader(<u32>this.keys.length);
    for (let i = 0; i < this.keys.length; i++) {
      this.keys[i].encodeTo(w);
      this.values[i].encodeTo(w);
    }
  }
}

/** An extension value (type -128..127 and raw data). Passed through, not interpreted. */
export class MsgExt extends MsgValue {
  constructor(public type: i8, public data: Uint8Array) { super(MsgKind.Ext); }
  encodeTo(w: MsgWriter): void { w.ext(this.type, this.data); }
}

/** Shorthand constructors and whole-buffer encode/decode. */
export class Msg {
  static nil(): MsgValue { return new MsgNil(); }
  static bool(v: bool): MsgValue { return new MsgBool(v); }
  static int(v: i64): MsgValue { return new MsgInt(v); }
  static uint(v: u64): MsgValue { return new MsgInt(<i64>v, v > <u64>i64.MAX_VALUE); }
  static float(v: f64): MsgValue { return new MsgFloat(v); }
  static str(v: string): MsgValue { return new MsgStr(v); }
  static bin(v: Uint8Array): MsgValue { return new MsgBin(v); }
  static array(): MsgArray { return new MsgArray(); }
  static map(): MsgMap { return new MsgMap(); }
  /** An array of strings. */
  static strings(v: string[]): MsgArray {
    const a = new MsgArray();
    for (let i = 0; i < v.length; i++) a.push(new MsgStr(v[i]));
    return a;
  }
  /** A map of string to string. */
  static stringMap(m: Map<string, string>): MsgMap {
    const out = new MsgMap();
    const keys = m.keys();
    for (let i = 0; i < keys.length; i++) out.set(keys[i], new MsgStr(m.get(keys[i])));
    return out;
  }
  /** Encodes `v` to bytes. */
  static encode(v: MsgValue): Uint8Array { return v.encode(); }
  /** Decodes exactly one value filling `bytes`; empty bytes decode to nil. Aborts on malformed input. */
  static decode(bytes: Uint8Array): MsgValue {
    if (bytes.length == 0) return new MsgNil();
    const r = new MsgReader(bytes);
    const v = r.read();
    if (r.pos != bytes.length) throw new Error("msgpack: trailing bytes after value");
    return v;
  }
}

/** Streams MessagePack into a growing buffer. Integers use the smallest encoding. */
export class MsgWriter {
  private buf: Uint8Array;
  private pos: i32 = 0;

  constructor(initialCapacity: i32 = 64) {
    this.buf = new Uint8Array(initialCapacity > 0 ? initialCapacity : 64);
  }

  /** Number of bytes written so far. */
  get length(): i32 { return this.pos; }

  private ensure(n: i32): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < need) cap = need;
    const nb = new Uint8Array(cap);
    memory.copy(nb.dataStart, this.buf.dataStart, <usize>this.pos);
    this.buf = nb;
  }

  private u8(v: u32): void {
    this.ensure(1);
    store<u8>(this.buf.dataStart + <usize>this.pos, <u8>v);
    this.pos += 1;
  }

  private be16(v: u32): void {
    this.ensure(2);
    store<u16>(this.buf.dataStart + <usize>this.pos, bswap<u16>(<u16>v));
    this.pos += 2;
  }

  private be32(v: u32): void {
    this.ensure(4);
    store<u32>(this.buf.dataStart + <usize>this.pos, bswap<u32>(v));
    this.pos += 4;
  }

  private be64(v: u64): void {
    this.ensure(8);
    store<u64>(this.buf.dataStart + <usize>this.pos, bswap<u64>(v));
    this.pos += 8;
  }

  /** Appends raw, already encoded bytes. */
  raw(bytes: Uint8Array): MsgWriter {
    const n = bytes.length;
    this.ensure(n);
    memory.copy(this.buf.dataStart + <usize>this.pos, bytes.dataStart, <usize>n);
    this.pos += n;
    return this;
  }

  /** nil */
  nil(): MsgWriter { this.u8(0xc0); return this; }

  /** true / false */
  bool(v: bool): MsgWriter { this.u8(v ? 0xc3 : 0xc2); return this; }

  /** A signed integer. */
  int(v: i64): MsgWriter {
    if (v >= 0) return this.uint(<u64>v);
    if (v >= -32) {
      this.u8(<u32>(<i32>v & 0xff));
    } else if (v >= -128) {
      this.u8(0xd0); this.u8(<u32>(<i32>v & 0xff));
    } else if (v >= -32768) {
      this.u8(0xd1); this.be16(<u32>(<i32>v & 0xffff));
    } else if (v >= -2147483648) {
      this.u8(0xd2); this.be32(<u32><i32>v);
    } else {
      this.u8(0xd3); this.be64(<u64>v);
    }
    return this;
  }

  /** An unsigned integer. */
  uint(v: u64): MsgWriter {
    if (v < 128) {
      this.u8(<u32>v);
    } else if (v <= 0xff) {
      this.u8(0xcc); this.u8(<u32>v);
    } else if (v <= 0xffff) {
      this.u8(0xcd); this.be16(<u32>v);
    } else if (v <= 0xffffffff) {
      this.u8(0xce); this.be32(<u32>v);
    } else {
      this.u8(0xcf); this.be64(v);
    }
    return this;
  }

  /** A float64. */
  float(v: f64): MsgWriter {
    this.u8(0xcb);
    this.be64(reinterpret<u64>(v));
    return this;
  }

  private strHeader(n: u32): void {
    if (n < 32) this.u8(0xa0 | n);
    else if (n <= 0xff) { this.u8(0xd9); this.u8(n); }
    else if (n <= 0xffff) { this.u8(0xda); this.be16(n); }
    else { this.u8(0xdb); this.be32(n); }
  }

  /** A string, encoded as UTF-8. */
  str(v: string): MsgWriter {
    const n = String.UTF8.byteLength(v);
    this.strHeader(<u32>n);
    this.ensure(n);
    String.UTF8.encodeUnsafe(changetype<usize>(v), v.length, this.buf.dataStart + <usize>this.pos);
    this.pos += n;
    return this;
  }

  /** A bin. */
  bin(v: Uint8Array): MsgWriter {
    const n = <u32>v.length;
    if (n <= 0xff) { this.u8(0xc4); this.u8(n); }
    else if (n <= 0xffff) { this.u8(0xc5); this.be16(n); }
    else { this.u8(0xc6); this.be32(n); }
    return this.raw(v);
  }

  /** The header of an array of `n` elements; write the `n` elements next. */
  arrayHeader(n: u32): MsgWriter {
    if (n < 16) this.u8(0x90 | n);
    else if (n <= 0xffff) { this.u8(0xdc); this.be16(n); }
    else { this.u8(0xdd); this.be32(n); }
    return this;
  }

  /** The header of a map of `n` entries; write `n` key/value pairs next. */
  mapHeader(n: u32): MsgWriter {
    if (n < 16) this.u8(0x80 | n);
    else if (n <= 0xffff) { this.u8(0xde); this.be16(n); }
    else { this.u8(0xdf); this.be32(n); }
    return this;
  }

  /** An extension value. */
  ext(type: i8, data: Uint8Array): MsgWriter {
    const n = <u32>data.length;
    if (n == 1) this.u8(0xd4);
    else if (n == 2) this.u8(0xd5);
    else if (n == 4) this.u8(0xd6);
    else if (n == 8) this.u8(0xd7);
    else if (n == 16) this.u8(0xd8);
    else if (n <= 0xff) { this.u8(0xc7); this.u8(n); }
    else if (n <= 0xffff) { this.u8(0xc8); this.be16(n); }
    else { this.u8(0xc9); this.be32(n); }
    this.u8(<u32>(<u8>type));
    return this.raw(data);
  }

  /** A whole `MsgValue`. */
  value(v: MsgValue): MsgWriter { v.encodeTo(this); return this; }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array { return this.buf.slice(0, this.pos); }
}

/** Reads MessagePack values from bytes. Aborts on truncated or malformed input. */
export class MsgReader {
  constructor(private data: Uint8Array, public pos: i32 = 0) {}

  /** True when all bytes have been read. */
  get done(): bool { return this.pos >= this.data.length; }

  private need(n: i64): void {
    if (n < 0 || <i64>this.pos + n > <i64>this.data.length) throw new Error("msgpack: truncated input");
  }

  private ptr(): usize { return this.data.dataStart + <usize>this.pos; }

  private u8(): u32 {
    this.need(1);
    const v = <u32>load<u8>(this.ptr());
    this.pos += 1;
    return v;
  }

  private be16(): u32 {
    this.need(2);
    const v = <u32>bswap<u16>(load<u16>(this.ptr()));
    this.pos += 2;
    return v;
  }

  private be32(): u32 {
    this.need(4);
    const v = bswap<u32>(load<u32>(this.ptr()));
    this.pos += 4;
    return v;
  }

  private be64(): u64 {
    this.need(8);
    const v = bswap<u64>(load<u64>(this.ptr()));
    this.pos += 8;
    return v;
  }

  private strOf(n: u32): MsgValue {
    this.need(<i64>n);
    const s = String.UTF8.decodeUnsafe(this.ptr(), <usize>n);
    this.pos += <i32>n;
    return new MsgStr(s);
  }

  private binOf(n: u32): Uint8Array {
    this.need(<i64>n);
    const b = this.data.slice(this.pos, this.pos + <i32>n);
    this.pos += <i32>n;
    return b;
  }

  private arrayOf(n: u32): MsgValue {
    const a = new MsgArray();
    for (let i: u32 = 0; i < n; i++) a.items.push(this.read());
    return a;
  }

  private mapOf(n: u32): MsgValue {
    const m = new MsgMap();
    for (let i: u32 = 0; i < n; i++) {
      const k = this.read();
      const v = this.read();
      m.add(k, v);
    }
    return m;
  }

  private extOf(n: u32): MsgValue {
    const t = <i8>this.u8();
    return new MsgExt(t, this.binOf(n));
  }

  /** Reads the next value. */
  read(): MsgValue {
    const b = this.u8();
    if (b <= 0x7f) return new MsgInt(<i64>b);
    if (b >= 0xe0) return new MsgInt(<i64><i8>b);
    if ((b & 0xf0) == 0x80) return this.mapOf(b & 0x0f);
    if ((b & 0xf0) == 0x90) return this.arrayOf(b & 0x0f);
    if ((b & 0xe0) == 0xa0) return this.strOf(b & 0x1f);
    switch (b) {
      case 0xc0: return new MsgNil();
      case 0xc2: return new MsgBool(false);
      case 0xc3: return new MsgBool(true);
      case 0xc4: return new MsgBin(this.binOf(this.u8()));
      case 0xc5: return new MsgBin(this.binOf(this.be16()));
      case 0xc6: return new MsgBin(this.binOf(this.be32()));
      case 0xc7: return this.extOf(this.u8());
      case 0xc8: return this.extOf(this.be16());
      case 0xc9: return this.extOf(this.be32());
      case 0xca: return new MsgFloat(<f64>reinterpret<f32>(this.be32()));
      case 0xcb: return new MsgFloat(reinterpret<f64>(this.be64()));
      case 0xcc: return new MsgInt(<i64>this.u8());
      case 0xcd: return new MsgInt(<i64>this.be16());
      case 0xce: return new MsgInt(<i64>this.be32());
      case 0xcf: {
        const v = this.be64();
        return new MsgInt(<i64>v, v > <u64>i64.MAX_VALUE);
      }
      case 0xd0: return new MsgInt(<i64><i8>this.u8());
      case 0xd1: return new MsgInt(<i64><i16>this.be16());
      case 0xd2: return new MsgInt(<i64><i32>this.be32());
      case 0xd3: return new MsgInt(<i64>this.be64());
      case 0xd4: return this.extOf(1);
      case 0xd5: return this.extOf(2);
      case 0xd6: return this.extOf(4);
      case 0xd7: return this.extOf(8);
      case 0xd8: return this.extOf(16);
      case 0xd9: return this.strOf(this.u8());
      case 0xda: return this.strOf(this.be16());
      case 0xdb: return this.strOf(this.be32());
      case 0xdc: return this.arrayOf(this.be16());
      case 0xdd: return this.arrayOf(this.be32());
      case 0xde: return this.mapOf(this.be16());
      case 0xdf: return this.mapOf(this.be32());
    }
    throw new Error("msgpack: invalid type byte 0x" + b.toString(16));
  }
}
