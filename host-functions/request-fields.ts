import { BadRequest } from "../engine/kernel/errors.js";

type Obj = Record<string, unknown>;

/** Typed access to the fields of a decoded msgpack map, each failure naming the operation and field. */
export class RequestFields {
  private readonly obj: Obj;
  constructor(
    private readonly op: string,
    value: unknown,
  ) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array) {
      throw new BadRequest(op, "expected a map");
    }
    this.obj = value as Obj;
  }

  private fail(field: string, want: string): never {
    throw new BadRequest(this.op, `field '${field}' must be ${want}`);
  }

  str(field: string): string {
    const v = this.obj[field];
    return typeof v === "string" ? v : this.fail(field, "a string");
  }

  optStr(field: string): string | undefined {
    const v = this.obj[field];
    return v === undefined || v === null ? undefined : this.str(field);
  }

  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    let v = this.obj[field];
    if (typeof v === "bigint" && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) v = Number(v);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) this.fail(field, "an unsigned integer");
    if (v > max) this.fail(field, `at most ${max}`);
    return v;
  }

  optUint(field: string, max?: number): number | undefined {
    const v = this.obj[field];
    return v === undefined || v === null ? undefined : this.uint(field, max);
  }

  bool(field: string): boolean {
    const v = this.obj[field];
    if (v === undefined || v === null) return false;
    return typeof v === "boolean" ? v : this.fail(field, "a boolean");
  }

  /** Bytes; a string is accepted and taken as UTF-8. */
  bytes(field: string): Uint8Array {
    const v = this.obj[field];
    if (v === undefined || v === null) return new Uint8Array(0);
    if (v instanceof Uint8Array) return v;
    if (typeof v === "string") return new TextEncoder().encode(v);
    return this.fail(field, "bytes or a string");
  }

  strList(field: string): string[] {
    const v = this.obj[field];
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) this.fail(field, "an array of strings");
    return v as string[];
  }

  strMap(field: string): Record<string, string> {
    const v = this.obj[field];
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) this.fail(field, "a map of strings");
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Obj)) {
      if (typeof val !== "string") this.fail(`${field}.${k}`, "a string");
      out[k] = val;
    }
    return out;
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined && this.obj[field] !== null;
  }
}
