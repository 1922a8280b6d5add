import { Cron as Croner } from "croner";
import { UsageError } from "../kernel/errors.js";

/** Whether the runtime knows `tz` as an IANA time zone (`Europe/Paris`, `UTC`). */
function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `--tz`: an IANA time zone name, checked. */
export function checkTimeZone(tz: string): string {
  if (!knownTimeZone(tz)) {
    throw new UsageError(`bad --tz '${tz}': not a time zone; give an IANA name such as Europe/Paris, America/New_York or UTC`);
  }
  return tz;
}

/**
 * A schedule's cron expression, evaluated by croner (a maintained cron library): 5 fields,
 * `minute hour day-of-month month day-of-week` (with ranges, steps, lists, names such as MON or
 * JAN, and L, W and # as croner reads them), or a nickname such as `@daily`; in `tz` (default UTC).
 * As in classic cron, when both day fields are restricted a day matches if either does.
 */
export class Cron {
  private constructor(
    readonly source: string,
    readonly tz: string | null,
    private readonly pattern: Croner,
  ) {}

  static parse(expr: string, tz: string | null = null): Cron {
    const source = expr.trim();
    if (!source.startsWith("@") && source.split(/\s+/).length !== 5) {
      throw new UsageError(`bad --cron '${expr}': expected 5 fields (minute hour day-of-month month day-of-week), e.g. '*/5 * * * *'`);
    }
    if (tz !== null) checkTimeZone(tz);
    let pattern: Croner;
    try {
      // sloppyRanges: `A/STEP` (from A every STEP), which the parser before croner accepted and stored schedules may hold.
      pattern = new Croner(source, { timezone: tz ?? "UTC", paused: true, mode: "5-part", sloppyRanges: true });
    } catch (err) {
      throw new UsageError(`bad --cron '${expr}': ${(err as Error).message.replace(/^CronPattern: /, "")}`);
    }
    const cron = new Cron(source, tz, pattern);
    cron.next(Date.now());
    return cron;
  }

  /** The first tick strictly after `afterMs` (epoch ms), at a whole minute. */
  next(afterMs: number): number {
    const d = this.pattern.nextRun(new Date(afterMs));
    if (d === null) throw new UsageError(`--cron '${this.source}' never matches a date (e.g. February 30)`);
    return d.getTime();
  }
}
