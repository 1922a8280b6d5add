import type { BinaryOp, Expr, Literal, StatusFunction, Template } from "./definition.js";

// The `${{ }}` expression language of pipelines (a GitHub Actions subset): literals ('text' with ''
// for a quote, numbers, true, false, null), context references (a.b.c), the status functions
// success(), failure(), always(), `!`, comparisons and `&&` / `||`, with parentheses. Parsed here
// on the host; evaluated by the pipeline workflow (guest-sdk/pipeline), deterministically.

/** A problem in an expression: `at` is the offset in the expression's text. */
export class ExpressionError extends Error {
  override name = "ExpressionError";
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

type Token =
  | { kind: "lit"; value: Literal; at: number }
  | { kind: "ident"; value: string; at: number }
  | { kind: "punct"; value: string; at: number }
  | { kind: "end"; at: number };

const PUNCT = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "."];
const STATUS: readonly string[] = ["success", "failure", "always"];

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'") {
      let s = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new ExpressionError("unterminated string (strings are 'quoted', '' for a quote)", at);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i++];
      }
      out.push({ kind: "lit", value: s, at });
      continue;
    }
    const num = /^-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (num && (c !== "-" || out.length === 0 || out[out.length - 1]!.kind === "punct")) {
      out.push({ kind: "lit", value: Number(num[0]), at });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (id) {
      const w = id[0];
      out.push(
        w === "true" || w === "false"
          ? { kind: "lit", value: w === "true", at }
          : w === "null"
            ? { kind: "lit", value: null, at }
            : { kind: "ident", value: w, at },
      );
      i += w.length;
      continue;
    }
    const p = PUNCT.find((q) => text.startsWith(q, i));
    if (!p) throw new ExpressionError(`unexpected '${c}'`, at);
    out.push({ kind: "punct", value: p, at });
    i += p.length;
  }
  out.push({ kind: "end", at: text.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Expr {
    const e = this.or();
    const t = this.peek();
    if (t.kind !== "end") throw new ExpressionError(`unexpected ${describe(t)}`, t.at);
    return e;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private punct(value: string): boolean {
    const t = this.peek();
    if (t.kind === "punct" && t.value === value) {
      this.i++;
      return true;
    }
    return false;
  }

  private or(): Expr {
    let e = this.and();
    while (this.punct("||")) e = { op: "||", args: [e, this.and()] };
    return e;
  }

  private and(): Expr {
    let e = this.comparison();
    while (this.punct("&&")) e = { op: "&&", args: [e, this.comparison()] };
    return e;
  }

  private comparison(): Expr {
    const e = this.unary();
    const t = this.peek();
    if (t.kind === "punct" && ["==", "!=", "<", "<=", ">", ">="].includes(t.value)) {
      this.i++;
      return { op: t.value as BinaryOp, args: [e, this.unary()] };
    }
    return e;
  }

  private unary(): Expr {
    if (this.punct("!")) return { op: "!", args: [this.unary()] };
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === "punct" && t.value === "(") {
      this.i++;
      const e = this.or();
      if (!this.punct(")")) throw new ExpressionError(`expected ')' but found ${describe(this.peek())}`, this.peek().at);
      return e;
    }
    if (t.kind === "lit") {
      this.i++;
      return { lit: t.value };
    }
    if (t.kind === "ident") {
      this.i++;
      if (this.punct("(")) {
        if (!STATUS.includes(t.value))
          throw new ExpressionError(`unknown function '${t.value}()': the functions are success(), failure() and always()`, t.at);
        if (!this.punct(")")) throw new ExpressionError(`${t.value}() takes no arguments`, this.peek().at);
        return { fn: t.value as StatusFunction };
      }
      const path = [t.value];
      while (this.punct(".")) {
        const n = this.peek();
        if (n.kind !== "ident") throw new ExpressionError(`expected a name after '.' but found ${describe(n)}`, n.at);
        this.i++;
        path.push(n.value);
      }
      return { ref: path };
    }
    throw new ExpressionError(`expected a value but found ${describe(t)}`, t.at);
  }
}

function describe(t: Token): string {
  if (t.kind === "end") return "the end of the expression";
  return `'${String(t.value)}'`;
}

/** Parses one expression (the text between `${{` and `}}`, or a bare `if:`). */
export function parseExpression(text: string): Expr {
  if (text.trim() === "") throw new ExpressionError("empty expression", 0);
  return new Parser(tokenize(text)).parse();
}

/** Splits text with `${{ … }}` into literal and expression parts; offsets in errors are into `text`. */
export function parseTemplate(text: string): Template {
  const parts: Template = [];
  let i = 0;
  let literal = "";
  while (i < text.length) {
    const open = text.indexOf("${{", i);
    if (open < 0) break;
    literal += text.slice(i, open);
    const close = findClose(text, open + 3);
    if (close < 0) throw new ExpressionError("'${{' without a closing '}}'", open);
    const inner = text.slice(open + 3, close);
    try {
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(parseExpression(inner));
    } catch (err) {
      if (err instanceof ExpressionError) throw new ExpressionError(err.message, open + 3 + err.at);
      throw err;
    }
    i = close + 2;
  }
  literal += text.slice(i);
  if (literal !== "") parts.push(literal);
  return parts;
}

/** The offset of the `}}` that ends an expression starting at `from` ('…' strings may hold braces). */
function findClose(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    if (text[i] === "'") quoted = !quoted;
    else if (!quoted && text.startsWith("}}", i)) return i;
  }
  return -1;
}

/** Every context reference in an expression or template, for checking names. */
export function references(e: Expr | Template): string[][] {
  const out: string[][] = [];
  const walk = (x: Expr | string) => {
    if (typeof x === "string") return;
    if ("ref" in x) out.push(x.ref);
    else if ("op" in x) x.args.forEach(walk);
  };
  if (Array.isArray(e)) e.forEach(walk);
  else walk(e);
  return out;
}

/** True when the expression calls a status function (else `if:` means `success() && (…)`, as in GitHub Actions). */
export function usesStatus(e: Expr): boolean {
  if ("fn" in e) return true;
  if ("op" in e) return e.args.some(usesStatus);
  return false;
}
