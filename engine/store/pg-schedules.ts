import { pack } from "msgpackr";
import { scheduleExists } from "./rules.js";
import { type Db, type Query, UNIQUE, buf } from "./pg-connection.js";
import { INSERT_RUN, insertRunParams } from "./pg-runs.js";
import type { NewRun, NewSchedule, ScheduleChange } from "./types.js";
import { scheduleUpdate } from "./schedule-change.js";

// Cron schedules: adding one, and firing a tick (advancing the schedule and creating its run at once).

export async function addSchedule(q: Query, sc: NewSchedule): Promise<void> {
  try {
    await q(
      `INSERT INTO schedules (name, cron, module, entry, input, config, next_tick, created_at, tz)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [sc.name, sc.cron, sc.module, sc.entry, buf(sc.input), pack(sc.config), sc.nextTick, Date.now(), sc.tz ?? null],
    );
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === UNIQUE) {
      throw scheduleExists(sc.name);
    }
    throw err;
  }
}

/** The body of fireSchedule's transaction. */
export async function fireSchedule(c: Db, name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean> {
  const moved = await c.query("UPDATE schedules SET next_tick = $1, last_tick = $2 WHERE name = $3 AND next_tick = $4 AND paused = 0", [
    nextTick,
    tick,
    name,
    tick,
  ]);
  if (moved.rowCount !== 1) return false;
  await c.query(`${INSERT_RUN.replace(" RETURNING *", "")} ON CONFLICT (id) DO NOTHING`, insertRunParams(run, Date.now()));
  return true;
}

export async function updateSchedule(q: Query, name: string, change: ScheduleChange): Promise<boolean> {
  const u = scheduleUpdate(name, change, (n) => `$${n}`);
  if (u === null) return ((await q("SELECT 1 FROM schedules WHERE name = $1", [name])).rowCount ?? 0) === 1;
  return (await q(u.sql, u.params)).rowCount === 1;
}
