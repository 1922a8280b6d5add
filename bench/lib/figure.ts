/** One measured figure: a row of the table and an entry of bench/results.json. */
export interface Figure {
  /** "B1" … "B9", or a derived row such as "B3-exec" or "B1-pg". */
  id: string;
  /** What is measured, for the table. */
  what: string;
  /** null when the figure could not be measured (the note says why). */
  value: number | null;
  unit: string;
  /** The target as text, e.g. "<= 3". */
  target: string;
  /** The same quantity for the baseline measured in the same run, in the same unit (null: none). */
  baseline: number | null;
  /** How the value and the baseline were obtained; the ratio, extra numbers, the reason for null. */
  note: string;
  /** Whether the target is met; null when there is no numeric target or no value. */
  met: boolean | null;
}

export interface BenchContext {
  /** Smoke mode: small sizes, one repetition; numbers are only checked for sanity. */
  quick: boolean;
  /** Repetitions of each measurement (the median is reported). */
  runs: number;
  log(line: string): void;
}

export interface Benchmark {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** A ratio as text, e.g. "1.8x baseline". */
export function ratioText(value: number | null, baseline: number | null): string {
  if (value === null || baseline === null || baseline === 0) return "";
  return `${(value / baseline).toFixed(2)}x baseline`;
}

export function atMost(value: number | null, limit: number): boolean | null {
  return value === null ? null : value <= limit;
}

export function atLeast(value: number | null, limit: number): boolean | null {
  return value === null ? null : value >= limit;
}
