import type { Figure } from "./figure.js";

export interface ResultEntry {
  value: number | null;
  unit: string;
  target: string;
  baseline: number | null;
  note: string;
}

/** bench/results.json: figures keyed by id ("B1", "B3-exec", "B1-pg", …), in measurement order. */
export function toResults(figures: readonly Figure[]): Record<string, ResultEntry> {
  const out: Record<string, ResultEntry> = {};
  for (const f of figures) out[f.id] = { value: f.value, unit: f.unit, target: f.target, baseline: f.baseline, note: f.note };
  return out;
}

function cell(v: number | null): string {
  return v === null ? "—" : String(v);
}

/** A Markdown table of the figures (what bench/README.md records). */
export function formatTable(figures: readonly Figure[]): string {
  const rows = ["| id | what | value | unit | target | met | baseline | ratio |", "|---|---|---:|---|---|---|---:|---:|"];
  for (const f of figures) {
    const ratio = f.value !== null && f.baseline !== null && f.baseline !== 0 ? (f.value / f.baseline).toFixed(2) : "—";
    const met = f.met === null ? "—" : f.met ? "yes" : "**no**";
    rows.push(`| ${f.id} | ${f.what} | ${cell(f.value)} | ${f.unit} | ${f.target} | ${met} | ${cell(f.baseline)} | ${ratio} |`);
  }
  return rows.join("\n");
}
