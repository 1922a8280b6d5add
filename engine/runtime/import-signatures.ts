import { InvalidModule } from "../kernel/errors.js";
import { PREVIEW1_MODULE } from "../../host-functions/wasi/interface.js";
import { PREVIEW1_IMPORTS } from "../../host-functions/wasi/interfaces.js";

/**
 * Signatures of the functions dwe provides to guests. A JavaScript host function accepts any
 * signature (missing arguments become `undefined`, an i64 result from a Number throws), so a guest
 * that imports `dwe.call` with the wrong type would misbehave in confusing ways; it is refused up
 * front instead, naming the import, what it declared and what dwe provides.
 */
const I = "i32";
const D = "f64";
const sig = (params: string[], results: string[] = [I]) => `(${params.join(", ")}) -> (${results.join(", ")})`;
const i32s = (n: number) => Array<string>(n).fill(I);

export const PROVIDED_SIGNATURES: Readonly<Record<string, string>> = {
  "dwe.call": sig(i32s(4)),
  "dwe.response": sig(i32s(2)),
  "env.abort": sig(i32s(4), []),
  "env.trace": sig([I, I, D, D, D, D, D], []),
  "env.seed": sig([], [D]),
  // WASI preview1, as each import declares it (host-functions/wasi/interfaces.ts)
  ...Object.fromEntries(
    [...PREVIEW1_IMPORTS].map(([name, decl]) => [`${PREVIEW1_MODULE}.${name}`, sig([...decl.params], [...(decl.results ?? [I])])]),
  ),
};

const VALTYPES: Record<number, string> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}
  byte(): number {
    const b = this.bytes[this.pos++];
    if (b === undefined) throw new Error("truncated");
    return b;
  }
  /** An unsigned LEB128 of up to 64 bits; values above 2^53 only need skipping here. */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("LEB128 too long");
  }
  name(): string {
    const len = this.uleb();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  valtype(): string {
    const t = VALTYPES[this.byte()];
    if (t === undefined) throw new Error("unsupported value type");
    return t;
  }
  limits(): void {
    const flags = this.byte();
    this.uleb();
    if (flags & 0x01) this.uleb();
  }
}

/**
 * The declared signature of every function import, as `module.name` -> `(params) -> (results)`.
 * Undefined when the module uses type encodings this reader does not know (GC proposal): the
 * engine's own instantiation then decides.
 */
export function importSignatures(bytes: Uint8Array): Map<string, string> | undefined {
  try {
    const types: string[] = [];
    const out = new Map<string, string>();
    let pos = 8;
    while (pos < bytes.length) {
      const r = new Reader(bytes, pos);
      const id = r.byte();
      const size = r.uleb();
      const end = r.pos + size;
      if (id === 1) {
        for (let n = r.uleb(); n > 0; n--) {
          if (r.byte() !== 0x60) return undefined;
          const params = Array.from({ length: r.uleb() }, () => r.valtype());
          const results = Array.from({ length: r.uleb() }, () => r.valtype());
          types.push(sig(params, results));
        }
      } else if (id === 2) {
        for (let n = r.uleb(); n > 0; n--) {
          const mod = r.name();
          const field = r.name();
          const kind = r.byte();
          if (kind === 0x00) {
            const t = types[r.uleb()];
            if (t === undefined) return undefined;
            out.set(`${mod}.${field}`, t);
          } else if (kind === 0x01) {
            r.byte();
            r.limits();
          } else if (kind === 0x02) r.limits();
          else if (kind === 0x03) {
            r.valtype();
            r.byte();
          } else if (kind === 0x04) {
            r.byte();
            r.uleb();
          } else return undefined;
        }
        return out;
      }
      pos = end;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Refuses a module that imports a dwe-provided function with a signature other than dwe's. */
export function checkImportSignatures(bytes: Uint8Array, name: string): void {
  const declared = importSignatures(bytes);
  if (!declared) return;
  for (const [imp, got] of declared) {
    const want = PROVIDED_SIGNATURES[imp];
    if (want !== undefined && want !== got) {
      throw new InvalidModule(
        `${name} imports function ${imp} with the signature ${got}, but dwe provides ${want}; ` +
          `fix the import declaration (docs/abi.md) or rebuild with a matching SDK`,
      );
    }
  }
}
