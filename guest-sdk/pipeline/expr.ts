// Evaluating pipeline expressions (parsed on the host, engine/pipeline/expression.ts) with GitHub
// Actions' rules: values are null, booleans, numbers or strings; `==` compares strings ignoring
// case and converts mixed types to numbers; `&&` / `||` return one of their operands.

import { JsonValue, JsonObject, formatNumber } from "../assemblyscript";

export const NULL: i32 = 0;
export const BOOL: i32 = 1;
export const NUM: i32 = 2;
export const STR: i32 = 3;

export class Val {
  constructor(public kind: i32, public b: bool = false, public n: f64 = 0, public s: string = "") {}

  static nul(): Val { return new Val(NULL); }
  static bool(b: bool): Val { return new Val(BOOL, b); }
  static num(n: f64): Val { return new Val(NUM, false, n); }
  static str(s: string): Val { return new Val(STR, false, 0, s); }

  static fromJson(v: JsonValue | null): Val {
    if (v === null || v.isNull) return Val.nul();
    if (v.isBool) return Val.bool(v.asBool());
    if (v.isNumber) return Val.num(v.asNumber());
    if (v.isString) return Val.str(v.asString());
    return Val.str(v.toString());
  }

  /** As text in a `${{ }}` substitution: null is empty. */
  text(): string {
    if (this.kind == NULL) return "";
    if (this.kind == BOOL) return this.b ? "true" : "false";
    if (this.kind == NUM) return formatNumber(this.n);
    return this.s;
  }

  number(): f64 {
    if (this.kind == NULL) return 0;
    if (this.kind == BOOL) return this.b ? 1 : 0;
    if (this.kind == NUM) return this.n;
    const t = this.s.trim();
    if (t.length == 0) return 0;
    return isNumeric(t) ? parseFloat(t) : NaN;
  }

  truthy(): bool {
    if (this.kind == NULL) return false;
    if (this.kind == BOOL) return this.b;
    if (this.kind == NUM) return this.n != 0 && !isNaN(this.n);
    return this.s.length > 0;
  }
}

function isNumeric(t: string): bool {
  let digits = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (!(c == 46 || c == 45 || c == 43 || c == 101 || c == 69)) return false;
  }
  return digits > 0;
}

/** What names mean where an expression is evaluated. */
export class Scope {
  inputs: JsonObject = new JsonObject();
  env: Map<string, string> = new Map<string, string>();
  /** step id -> { output name -> value } */
  steps: JsonObject = new JsonObject();
  /** job id -> { output name -> value } */
  needs: JsonObject = new JsonObject();
  success: bool = true;
  failure: bool = false;

  copy(): Scope {
    const s = new Scope();
    s.inputs = this.inputs;
    s.env = new Map<string, string>();
    const keys = this.env.keys();
    for (let i = 0; i < keys.length; i++) s.env.set(keys[i], this.env.get(keys[i]));
    s.steps = this.steps;
    s.needs = this.needs;
    s.success = this.success;
    s.failure = this.failure;
    return s;
  }
}

function member(o: JsonValue | null, key: string): JsonValue | null {
  if (o === null || !o.isObject) return null;
  return (<JsonObject>o).get(key);
}

function lookup(path: JsonValue[], scope: Scope): Val {
  const ctx = path[0].asString();
  if (ctx == "env") {
    const name = path[1].asString();
    return scope.env.has(name) ? Val.str(scope.env.get(name)) : Val.nul();
  }
  if (ctx == "inputs") return Val.fromJson(scope.inputs.get(path[1].asString()));
  // steps.<id>.outputs.<name>, needs.<job>.outputs.<name>
  const root = ctx == "steps" ? scope.steps : scope.needs;
  return Val.fromJson(member(member(root, path[1].asString()), path[3].asString()));
}

function equal(a: Val, b: Val): bool {
  if (a.kind == STR && b.kind == STR) return a.s.toLowerCase() == b.s.toLowerCase();
  if (a.kind == b.kind && a.kind == NULL) return true;
  if (a.kind == b.kind && a.kind == BOOL) return a.b == b.b;
  return a.number() == b.number();
}

function compare(op: string, a: Val, b: Val): bool {
  let c: i32;
  if (a.kind == STR && b.kind == STR) {
    c = a.s.toLowerCase().localeCompare(b.s.toLowerCase());
  } else {
    const x = a.number();
    const y = b.number();
    if (isNaN(x) || isNaN(y)) return false;
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

export function evaluate(e: JsonValue, scope: Scope): Val {
  const o = <JsonObject>e;
  if (o.has("lit")) return Val.fromJson(o.get("lit"));
  if (o.has("ref")) return lookup(o.get("ref")!.asArray(), scope);
  if (o.has("fn")) {
    const f = o.getString("fn");
    if (f == "always") return Val.bool(true);
    if (f == "failure") return Val.bool(scope.failure);
    return Val.bool(scope.success);
  }
  const op = o.getString("op");
  const args = o.get("args")!.asArray();
  if (op == "!") return Val.bool(!evaluate(args[0], scope).truthy());
  const a = evaluate(args[0], scope);
  if (op == "&&") return a.truthy() ? evaluate(args[1], scope) : a;
  if (op == "||") return a.truthy() ? a : evaluate(args[1], scope);
  const b = evaluate(args[1], scope);
  if (op == "==") return Val.bool(equal(a, b));
  if (op == "!=") return Val.bool(!equal(a, b));
  return Val.bool(compare(op, a, b));
}

/** A template's text: literal parts as they are, expressions as their values' text (never re-read as templates). */
export function render(t: JsonValue | null, scope: Scope): string {
  if (t === null || t.isNull) return "";
  const parts = t.asArray();
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    out += p.isString ? p.asString() : evaluate(p, scope).text();
  }
  return out;
}

/** Evaluates a map of env templates into `scope.env` (later levels override earlier ones). */
export function addEnv(templates: JsonValue | null, scope: Scope): void {
  if (templates === null || !templates.isObject) return;
  const o = <JsonObject>templates;
  const base = scope.copy(); // a level's values see the levels above it, not each other
  for (let i = 0; i < o.keys.length; i++) scope.env.set(o.keys[i], render(o.values[i], base));
}
