import type Database from "better-sqlite3";
import { pack } from "msgpackr";
import { scheduleExists } from "./rules.js";
import { type Statements, insertRunParams } from "./sqlite-statements.js";
import type { NewRun, NewSchedule, ScheduleChange } from "./types.js";
import { scheduleUpdate } from "./schedule-change.js";

// Cron schedules: adding one, and firing a tick (advancing the schedule and creating its run at once).

export function addSchedule(stmt: Statements, sc: NewSchedule): void {
  try {
    stmt.insertSchedule.run({
      name: sc.name,
      cron: sc.cron,
      module: sc.module,
      entry: sc.entry,
      input: sc.input,
      config: pack(sc.config),
      nextTick: sc.nextTick,
      tz: sc.tz ?? null,
      now: Date.now(),
    });
  } catch (err) {
    if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
      throw scheduleExists(sc.name);
    }
    throw err;
  }
}

export function fireSchedule(db: Database.Database, stmt: Statements, name: string, tick: number, nextTick: number, run: NewRun): boolean {
  const fire = db.transaction((): boolean => {
    if (stmt.advanceSchedule.run(nextTick, tick, name, tick).changes !== 1) return false;
    if (stmt.getRun.get(run.id)) return true;
    stmt.insertRun.run(insertRunParams(run));
    return true;
  });
  return fire.immediate();
}

export function updateSchedule(db: Database.Database, name: string, change: ScheduleChange): boolean {
  const u = scheduleUpdate(name, change, () => "?");
  if (u === null) return db.prepare("SELECT 1 FROM schedules WHERE name = ?").get(name) !== undefined;
  return db.prepare(u.sql).run(...u.params).changes === 1;
}
