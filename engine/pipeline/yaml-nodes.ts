import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, Scalar } from "yaml";

// Reading a YAML document node by node, keeping positions: every problem found is collected with
// its line and column (one per problem), so a file with three mistakes reports all three.

export interface Problem {
  /** 1-based; 0 for a problem that is not in the file (a flag). */
  line: number;
  col: number;
  message: string;
}

export class YamlReader {
  readonly problems: Problem[] = [];
  private readonly lines = new LineCounter();
  readonly doc: Document.Parsed;

  constructor(private readonly source: string) {
    const text = source;
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const e of this.doc.errors) {
      const p = e.linePos?.[0] ?? this.lines.linePos(e.pos[0]);
      this.problems.push({ line: p.line, col: p.col, message: e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") });
    }
  }

  /** The document's root, with aliases resolved (null when empty). */
  get root(): Node | null {
    return this.resolve(this.doc.contents);
  }

  resolve(node: unknown): Node | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.resolve(node.resolve(this.doc));
    return node as Node;
  }

  /** Line and column (1-based) of a node, or of `offset` characters into a one-line scalar's text. */
  pos(node: Node | null | undefined, offset = 0): { line: number; col: number } {
    const start = node?.range?.[0] ?? 0;
    let shift = 0;
    if (offset > 0 && node && isScalar(node) && node.range) {
      const src = this.sourceOf(node);
      const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
      const body = quoted ? src.slice(1, -1) : src;
      if ((node.type === Scalar.PLAIN || quoted) && body === String(node.value)) shift = offset + (quoted ? 1 : 0);
    }
    return this.lines.linePos(start + shift);
  }

  private sourceOf(node: Node): string {
    return node.range ? this.source.slice(node.range[0], node.range[1]) : "";
  }

  problem(node: Node | null | undefined, message: string, offset = 0): void {
    const p = this.pos(node, offset);
    this.problems.push({ line: p.line, col: p.col, message });
  }

  /** The entries of a mapping, keys as strings; reports unknown keys and a non-mapping. */
  map(node: Node | null, what: string, allowed: readonly string[] | null): Map<string, { key: Node; value: Node | null }> | undefined {
    const out = new Map<string, { key: Node; value: Node | null }>();
    if (!isMap(node)) {
      this.problem(node, `${what} must be a mapping (key: value lines)`);
      return undefined;
    }
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : null;
      if (name === null) {
        this.problem(key, `${what}: keys must be plain names`);
        continue;
      }
      if (allowed && !allowed.includes(name)) {
        this.problem(key, `unknown key '${name}' in ${what} (allowed: ${allowed.join(", ")})`);
        continue;
      }
      out.set(name, { key, value: this.resolve(pair.value) });
    }
    return out;
  }

  seq(node: Node | null, what: string): Node[] | undefined {
    if (!isSeq(node)) {
      this.problem(node, `${what} must be a list`);
      return undefined;
    }
    return node.items.map((n) => this.resolve(n)).filter((n): n is Node => n !== null);
  }

  /** A scalar's value as text (numbers and booleans as written), or undefined with a problem. */
  text(node: Node | null, what: string): string | undefined {
    if (!isScalar(node) || node.value === null || typeof node.value === "object") {
      this.problem(node, `${what} must be text`);
      return undefined;
    }
    const v: unknown = node.value;
    if (typeof v === "string") return v;
    return this.sourceOf(node) || (typeof v === "number" || typeof v === "boolean" ? String(v) : "");
  }

  bool(node: Node | null, what: string): boolean | undefined {
    if (!isScalar(node) || typeof node.value !== "boolean") {
      this.problem(node, `${what} must be true or false`);
      return undefined;
    }
    return node.value;
  }
}

export function isScalarNode(node: Node | null): node is Scalar {
  return isScalar(node);
}
