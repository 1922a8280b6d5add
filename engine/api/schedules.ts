import { UsageError } from "../kernel/errors.js";
import { Cron } from "../worker/cron.js";
import type { ScheduleRecord, Store } from "../store/types.js";
import { type ModuleBytesSource, encodeInput, prepareRun } from "./prepare-run.js";
import type { ScheduleInfo, ScheduleOptions, ScheduleUpdate } from "./types.js";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A schedule's name: its runs are named NAME.TICK-MS, so it is a run id of at most 100 characters. */
export function checkScheduleName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `bad schedule name '${name}': use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit (its runs are named NAME.TICK)`,
    );
  }
  return name;
}

/** Adds a schedule: each tick (in `tz`, default UTC) a worker starts one run of the module, named NAME.TICK-MS. Returns the first tick. */
export async function addSchedule(
  store: Store,
  name: string,
  module: ModuleBytesSource,
  o: ScheduleOptions,
  cwd: string,
  db: string,
): Promise<number> {
  checkScheduleName(name);
  const cron = Cron.parse(o.cron, o.tz ?? null);
  // Checked as a run of it would be (module, entry, grants, limits), with the schedule's name as id.
  const p = prepareRun(
    module,
    {
      id: name,
      input: o.input,
      ...(o.entry !== undefined && { entry: o.entry }),
      ...(o.grants && { grants: o.grants }),
      ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      ...(o.maxMemoryBytes !== undefined && { maxMemoryBytes: o.maxMemoryBytes }),
    },
    cwd,
    db,
  );
  const nextTick = cron.next(Date.now());
  const { grants, timeoutMs, maxMemoryBytes, argv0 } = p.run.config;
  await store.putModule(p.module.sha256, p.module.kind, p.module.bytes);
  await store.addSchedule({
    name,
    cron: cron.source,
    tz: cron.tz,
    module: p.module.sha256,
    entry: p.run.entry,
    input: p.run.input,
    // argv0 is the module's file name: each run of the schedule is named by it.
    config: { grants, args: [], env: {}, timeoutMs, maxMemoryBytes, ...(argv0 !== undefined && { argv0 }) },
    nextTick,
  });
  return nextTick;
}

function scheduleInfo(s: ScheduleRecord): ScheduleInfo {
  return {
    name: s.name,
    cron: s.cron,
    tz: s.tz,
    paused: s.paused,
    module: s.module,
    entry: s.entry,
    input: s.input,
    nextTick: s.nextTick,
    lastTick: s.lastTick,
  };
}

export async function listSchedules(store: Store): Promise<ScheduleInfo[]> {
  return (await store.listSchedules()).map(scheduleInfo);
}

async function getSchedule(store: Store, name: string): Promise<ScheduleRecord> {
  const s = (await store.listSchedules()).find((x) => x.name === name);
  if (!s) throw new UsageError(`no schedule named '${name}'; see \`dwe schedule list\``);
  return s;
}

/** Removes a schedule (the runs it started are kept). */
export async function removeSchedule(store: Store, name: string): Promise<void> {
  if (!(await store.removeSchedule(name))) throw new UsageError(`no schedule named '${name}'; see \`dwe schedule list\``);
}

/** Pauses a schedule: no tick fires until it is resumed (runs it started go on). */
export async function pauseSchedule(store: Store, name: string): Promise<ScheduleInfo> {
  if (!(await store.updateSchedule(name, { paused: true }))) throw new UsageError(`no schedule named '${name}'; see \`dwe schedule list\``);
  return scheduleInfo(await getSchedule(store, name));
}

/** Resumes a paused schedule from now: ticks that passed while it was paused are not fired. */
export async function resumeSchedule(store: Store, name: string): Promise<ScheduleInfo> {
  const s = await getSchedule(store, name);
  const nextTick = Cron.parse(s.cron, s.tz).next(Date.now());
  await store.updateSchedule(name, { paused: false, nextTick });
  return scheduleInfo(await getSchedule(store, name));
}

/** Changes a schedule's cron expression, time zone or input; its next tick is computed anew from now. */
export async function updateSchedule(store: Store, name: string, o: ScheduleUpdate): Promise<ScheduleInfo> {
  const s = await getSchedule(store, name);
  const tz = o.tz === undefined ? s.tz : o.tz;
  const cron = Cron.parse(o.cron ?? s.cron, tz);
  await store.updateSchedule(name, {
    cron: cron.source,
    tz: cron.tz,
    ...(o.input !== undefined && { input: encodeInput(o.input) }),
    nextTick: cron.next(Date.now()),
  });
  return scheduleInfo(await getSchedule(store, name));
}
