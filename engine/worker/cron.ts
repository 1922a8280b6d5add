import { UsageError } from "../kernel/errors.js";

/**
 * A 5-field cron expression, evaluated in UTC: `minute hour day-of-month month day-of-week`.
 * Each field: `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n` or `a/n`, or a comma list of
 * these. Day of week 0-7 (0 and 7 are Sunday). As in classic cron, when both day fields are
 * restricted a day matches if either does.
 */
export class Cron {
  private constructor(
    readonly source: string,
    private readonly minutes: Set<number>,
    private readonly hours: Set<number>,
    private readonly days: Set<number>,
    private readonly months: Set<number>,
    private readonly weekdays: Set<number>,
    private readonly dayRestricted: boolean,
    private readonly weekdayRestricted: boolean,
  ) {}

  static parse(expr: string): Cron {
    const fields = expr.trim().split(/\s+/);
    if (fields.length !== 5) {
      throw new UsageError(`bad --cron '${expr}': expected 5 fields (minute hour day-of-month month day-of-week), e.g. '*/5 * * * *'`);
    }
    const [mi, h, dom, mo, dow] = fields as [string, string, string, string, string];
    const weekdays = field(dow, 0, 7, "day-of-week", expr);
    if (weekdays.has(7)) {
      weekdays.delete(7);
      weekdays.add(0);
    }
    return new Cron(
      expr.trim(),
      field(mi, 0, 59, "minute", expr),
      field(h, 0, 23, "hour", expr),
      field(dom, 1, 31, "day-of-month", expr),
      field(mo, 1, 12, "month", expr),
      weekdays,
      dom !== "*",
      dow !== "*",
    );
  }

  private dayMatches(d: Date): boolean {
    const dom = this.days.has(d.getUTCDate());
    const dow = this.weekdays.has(d.getUTCDay());
    if (this.dayRestricted && this.weekdayRestricted) return dom || dow;
    return dom && dow;
  }

  /** The first tick strictly after `afterMs` (epoch ms), at a whole minute. */
  next(afterMs: number): number {
    const d = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
    for (let guard = 0; guard < 200_000; guard++) {
      if (!this.months.has(d.getUTCMonth() + 1)) {
        d.setUTCMonth(d.getUTCMonth() + 1, 1);
        d.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!this.dayMatches(d)) {
        d.setUTCDate(d.getUTCDate() + 1);
        d.setUTCHours(0, 0, 0, 0);
        continue;
      }
      if (!this.hours.has(d.getUTCHours())) {
        d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
        continue;
      }
      if (!this.minutes.has(d.getUTCMinutes())) {
        d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
        continue;
      }
      return d.getTime();
    }
    throw new UsageError(`--cron '${this.source}' never matches a date (e.g. February 30)`);
  }
}

function field(text: string, min: number, max: number, name: string, expr: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string): never => {
    throw new UsageError(`bad --cron '${expr}': ${name} field '${text}': ${why}`);
  };
  for (const part of text.split(",")) {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) bad(`expected *, N, A-B, with an optional /STEP, or a comma list of these`);
    const [, range, stepText] = m!;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) bad("the step must be at least 1");
    let lo = min;
    let hi = max;
    if (range !== "*") {
      const [a, b] = range!.split("-");
      lo = Number(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : Number(b);
    }
    if (lo < min || hi > max || lo > hi) bad(`values must be within ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}
