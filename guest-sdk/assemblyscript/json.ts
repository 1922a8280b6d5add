// A small JSON value tree, parser and writer for run input and output.
//
// Numbers are f64 (as in JavaScript); integral numbers are written without a fraction.
// Objects keep key order. Strings are AssemblyScript (UTF-16) strings; the writer escapes
// `"`, `\` and control characters and writes everything else as is (UTF-8 on the wire).

/** The type of a `JsonValue`. */
export enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

function jsonTypeError(want: string, got: JsonKind): void {
  throw new Error("json: expected " + want + ", got " + jsonKindName(got));
}

/** The lower-case name of a kind ("null", "number", "object", ...). */
export function jsonKindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "bool";
    case JsonKind.Number: return "number";
    case JsonKind.String: return "string";
    case JsonKind.Array: return "array";
    case JsonKind.Object: return "object";
  }
  return "unknown";
}

/**
 * A JSON value. The `as*` accessors abort with a type error on the wrong kind; check `kind`
 * (or `isNull`, ...) first when the shape is not known, or use the `JsonObject.get*` helpers
 * that take a default.
 */
export class JsonValue {
  constructor(public readonly kind: JsonKind) {}

  /** True for null. */
  get isNull(): bool { return this.kind == JsonKind.Null; }
  /** True for a bool. */
  get isBool(): bool { return this.kind == JsonKind.Bool; }
  /** True for a number. */
  get isNumber(): bool { return this.kind == JsonKind.Number; }
  /** True for a string. */
  get isString(): bool { return this.kind == JsonKind.String; }
  /** True for an array. */
  get isArray(): bool { return this.kind == JsonKind.Array; }
  /** True for an object. */
  get isObject(): bool { return this.kind == JsonKind.Object; }

  /** The boolean value. */
  asBool(): bool { jsonTypeError("bool", this.kind); return false; }
  /** The number. */
  asNumber(): f64 { jsonTypeError("number", this.kind); return 0; }
  /** The number truncated to an i64. */
  asI64(): i64 { return <i64>this.asNumber(); }
  /** The string. */
  asString(): string { jsonTypeError("string", this.kind); return ""; }
  /** The elements of an array. */
  asArray(): JsonValue[] { jsonTypeError("array", this.kind); return []; }
  /** The value as an object. */
  asObject(): JsonObject { jsonTypeError("object", this.kind); return new JsonObject(); }
  /** The member `key` of an object, or null when absent or when this is not an object. */
  get(key: string): JsonValue | null { return null; }

  /** Appends the JSON text of this value to `out`. */
  writeTo(out: string[]): void { out.push("null"); }

  /** The compact JSON text of this value. */
  toString(): string {
    const out: string[] = [];
    this.writeTo(out);
    return out.join("");
  }
}

/** null */
export class JsonNull extends JsonValue {
  constructor() { super(JsonKind.Null); }
}

/** true / false */
export class JsonBool extends JsonValue {
  constructor(public value: bool) { super(JsonKind.Bool); }
  asBool(): bool { return this.value; }
  writeTo(out: string[]): void { out.push(this.value ? "true" : "false"); }
}

/** A number. */
export class JsonNumber extends JsonValue {
  constructor(public value: f64) { super(JsonKind.Number); }
  asNumber(): f64 { return this.value; }
  writeTo(out: string[]): void { out.push(formatNumber(this.value)); }
}

/** A string. */
export class JsonString extends JsonValue {
  constructor(public value: string) { super(JsonKind.String); }
  asString(): string { return this.value; }
  writeTo(out: string[]): void { writeString(out, this.value); }
}

/** An array. */
export class JsonArray extends JsonValue {
  constructor(public items: JsonValue[] = []) { super(JsonKind.Array); }
  asArray(): JsonValue[] { return this.items; }
  get length(): i32 { return this.items.length; }
  /** Appends an element; returns this array for chaining. */
  push(v: JsonValue): JsonArray { this.items.push(v); return this; }
  writeTo(out: string[]): void {
    out.push("[");
    for (let i = 0; i < this.items.length; i++) {
      if (i > 0) out.push(",");
      this.items[i].writeTo(out);
    }
    out.push("]");
  }
}

/** An object. Members keep insertion order; `set` replaces an existing key in place. */
export class JsonObject extends JsonValue {
  keys: string[] = [];
  values: JsonValue[] = [];

  constructor() { super(JsonKind.Object); }

  asObject(): JsonObject { return this; }

  get size(): i32 { return this.keys.length; }

  /** Index of `key`, or -1. */
  indexOf(key: string): i32 {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return i;
    return -1;
  }

  get(key: string): JsonValue | null {
    const i = this.indexOf(key);
    return i < 0 ? null : this.values[i];
  }

  /** True if `key` is present (even when null). */
  has(key: string): bool { return this.indexOf(key) >= 0; }

  /** Sets (or replaces) a member; returns this object for chaining. */
  set(key: string, value: JsonValue): JsonObject {
    const i = this.indexOf(key);
    if (i >= 0) this.values[i] = value;
    else {
      this.keys.push(key);
      this.values.push(value);
    }
    return this;
  }

  /** Sets a string member. */
  setString(key: string, value: string): JsonObject { return this.set(key, new JsonString(value)); }
  /** Sets a number member. */
  setNumber(key: string, value: f64): JsonObject { return this.set(key, new JsonNumber(value)); }
  /** Sets a bool member. */
  setBool(key: string, value: bool): JsonObject { return this.set(key, new JsonBool(value)); }

  /** The string member `key`, or `def` when absent or null. Aborts if it is not a string. */
  getString(key: string, def: string = ""): string {
    const v = this.get(key);
    if (v === null || v.isNull) return def;
    return v.asString();
  }

  /** The number member `key`, or `def` when absent or null. Aborts if it is not a number. */
  getNumber(key: string, def: f64 = 0): f64 {
    const v = this.get(key);
    if (v === null || v.isNull) return def;
    return v.asNumber();
  }

  /** The number member `key` as an i64, or `def` when absent or null. */
  getI64(key: string, def: i64 = 0): i64 {
    const v = this.get(key);
    if (v === null || v.isNull) return def;
    return v.asI64();
  }

  /** The bool member `key`, or `def` when absent or null. Aborts if it is not a bool. */
  getBool(key: string, def: bool = false): bool {
    const v = this.get(key);
    if (v === null || v.isNull) return def;
    return v.asBool();
  }

  writeTo(out: string[]): void {
    out.push("{");
    for (let i = 0; i < this.keys.length; i++) {
      if (i > 0) out.push(",");
      writeString(out, this.keys[i]);
      out.push(":");
      this.values[i].writeTo(out);
    }
    out.push("}");
  }
}

/** Shorthand constructors, `parse` and `stringify`. */
export class Json {
  static nul(): JsonValue { return new JsonNull(); }
  static bool(v: bool): JsonValue { return new JsonBool(v); }
  static num(v: f64): JsonValue { return new JsonNumber(v); }
  static int(v: i64): JsonValue { return new JsonNumber(<f64>v); }
  static str(v: string): JsonValue { return new JsonString(v); }
  static arr(): JsonArray { return new JsonArray(); }
  static obj(): JsonObject { return new JsonObject(); }

  /** Parses JSON text; returns null if it is not valid JSON (see `Json.lastError`). */
  static parse(text: string): JsonValue | null {
    const p = new JsonParser(text);
    const v = p.parseDocument();
    Json.lastError = p.error;
    return v;
  }

  /** The reason the last `Json.parse` failed ("" after a success). */
  static lastError: string = "";

  /** The compact JSON text of `v`. */
  static stringify(v: JsonValue): string { return v.toString(); }
}

/** Formats a number as JSON: integral values without fraction, NaN/Infinity as null. */
export function formatNumber(x: f64): string {
  if (!isFinite(x)) return "null";
  if (x == Math.floor(x) && Math.abs(x) < 9007199254740992.0) {
    return (<i64>x).toString(); // also turns -0 into "0", like JSON.stringify
  }
  return x.toString();
}

const HEX = "0123456789abcdef";

/** Appends `s` as a quoted JSON string to `out`. */
export function writeString(out: string[], s: string): void {
  out.push("\"");
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    if (i > start) out.push(s.substring(start, i));
    start = i + 1;
    if (c == 0x22) out.push("\\\"");
    else if (c == 0x5c) out.push("\\\\");
    else if (c == 0x0a) out.push("\\n");
    else if (c == 0x0d) out.push("\\r");
    else if (c == 0x09) out.push("\\t");
    else if (c == 0x08) out.push("\\b");
    else if (c == 0x0c) out.push("\\f");
    else {
      out.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
    }
  }
  if (n > start) out.push(start == 0 ? s : s.substring(start, n));
  out.push("\"");
}

const MAX_DEPTH = 512;

/** @internal A recursive-descent parser. On error it records `error` and returns null. */
class JsonParser {
  i: i32 = 0;
  error: string = "";

  constructor(public s: string) {}

  private fail(msg: string): JsonValue | null {
    if (this.error.length == 0) this.error = msg + " at offset " + this.i.toString();
    return null;
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.i++;
      else break;
    }
  }

  parseDocument(): JsonValue | null {
    const v = this.value(0);
    if (v === null) return null;
    this.ws();
    if (this.i != this.s.length) return this.fail("json: unexpected trailing characters");
    return v;
  }

  private lit(word: string, v: JsonValue): JsonValue | null {
    if (this.s.substr(this.i, word.length) != word) return this.fail("json: invalid literal");
    this.i += word.length;
    return v;
  }

  private value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("json: nesting too deep");
    this.ws();
    if (this.i >= this.s.length) return this.fail("json: unexpected end of input");
    const c = this.s.charCodeAt(this.i);
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const str = this.string();
      if (str === null) return null;
      return new JsonString(str);
    }
    if (c == 0x74) return this.lit("true", new JsonBool(true));
    if (c == 0x66) return this.lit("false", new JsonBool(false));
    if (c == 0x6e) return this.lit("null", new JsonNull());
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail("json: unexpected character");
  }

  private digits(): i32 {
    const start = this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c < 0x30 || c > 0x39) break;
      this.i++;
    }
    return this.i - start;
  }

  private number(): JsonValue | null {
    const start = this.i;
    if (this.s.charCodeAt(this.i) == 0x2d) this.i++;
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x30) {
      this.i++;
    } else if (this.digits() == 0) {
      return this.fail("json: invalid number");
    }
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x2e) {
      this.i++;
      if (this.digits() == 0) return this.fail("json: invalid number");
    }
    if (this.i < this.s.length) {
      const e = this.s.charCodeAt(this.i);
      if (e == 0x65 || e == 0x45) {
        this.i++;
        if (this.i < this.s.length) {
          const sign = this.s.charCodeAt(this.i);
          if (sign == 0x2b || sign == 0x2d) this.i++;
        }
        if (this.digits() == 0) return this.fail("json: invalid number");
      }
    }
    return new JsonNumber(parseFloat(this.s.substring(start, this.i)));
  }

  private hex4(): i32 {
    if (this.i + 4 > this.s.length) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(this.i + k);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.i += 4;
    return v;
  }

  /** Parses a string starting at the opening quote; null on error. */
  private string(): string | null {
    const s = this.s;
    this.i++; // opening quote
    const parts: string[] = [];
    let start = this.i;
    while (true) {
      if (this.i >= s.length) {
        this.fail("json: unterminated string");
        return null;
      }
      const c = s.charCodeAt(this.i);
      if (c == 0x22) {
        if (this.i > start) parts.push(s.substring(start, this.i));
        this.i++;
        break;
      }
      if (c < 0x20) {
        this.fail("json: control character in string");
        return null;
      }
      if (c != 0x5c) {
        this.i++;
        continue;
      }
      if (this.i > start) parts.push(s.substring(start, this.i));
      this.i++;
      if (this.i >= s.length) {
        this.fail("json: unterminated string");
        return null;
      }
      const e = s.charCodeAt(this.i);
      this.i++;
      if (e == 0x22) parts.push("\"");
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        const u = this.hex4();
        if (u < 0) {
          this.fail("json: invalid \\u escape");
          return null;
        }
        // Surrogate pairs arrive as two escapes; UTF-16 strings take them as they are.
        parts.push(String.fromCharCode(u));
      } else {
        this.i--;
        this.fail("json: invalid escape");
        return null;
      }
      start = this.i;
    }
    return parts.length == 1 ? parts[0] : parts.join("");
  }

  private array(depth: i32): JsonValue | null {
    this.i++; // [
    const a = new JsonArray();
    this.ws();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x5d) {
      this.i++;
      return a;
    }
    while (true) {
      const v = this.value(depth + 1);
      if (v === null) return null;
      a.items.push(v);
      this.ws();
      if (this.i >= this.s.length) return this.fail("json: unterminated array");
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c == 0x2c) continue;
      if (c == 0x5d) return a;
      this.i--;
      return this.fail("json: expected ',' or ']'");
    }
  }

  private object(depth: i32): JsonValue | null {
    this.i++; // {
    const o = new JsonObject();
    this.ws();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x7d) {
      this.i++;
      return o;
    }
    while (true) {
      this.ws();
      if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x22) {
        return this.fail("json: expected string key");
      }
      const key = this.string();
      if (key === null) return null;
      this.ws();
      if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x3a) return this.fail("json: expected ':'");
      this.i++;
      const v = this.value(depth + 1);
      if (v === null) return null;
      o.set(key, v); // a duplicate key: the last one wins, like JSON.parse
      this.ws();
      if (this.i >= this.s.length) return this.fail("json: unterminated object");
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c == 0x2c) continue;
      if (c == 0x7d) return o;
      this.i--;
      return this.fail("json: expected ',' or '}'");
    }
  }
}
