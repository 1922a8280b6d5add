import type { ScheduleChange } from "./types.js";

/** The `UPDATE schedules` of a change, for both dialects (`param(n)` spells the nth placeholder); null when it changes nothing. */
export function scheduleUpdate(name: string, c: ScheduleChange, param: (n: number) => string): { sql: string; params: unknown[] } | null {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return param(params.length);
  };
  const set: string[] = [];
  if (c.cron !== undefined) set.push(`cron = ${p(c.cron)}`);
  if (c.tz !== undefined) set.push(`tz = ${p(c.tz)}`);
  if (c.input !== undefined) set.push(`input = ${p(Buffer.from(c.input))}`);
  if (c.paused !== undefined) set.push(`paused = ${p(c.paused ? 1 : 0)}`);
  if (c.nextTick !== undefined) set.push(`next_tick = ${p(c.nextTick)}`);
  if (set.length === 0) return null;
  return { sql: `UPDATE schedules SET ${set.join(", ")} WHERE name = ${p(name)}`, params };
}
