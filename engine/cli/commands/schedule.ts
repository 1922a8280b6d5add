import type { ScheduleInfo } from "../../api/types.js";
import { checkScheduleName } from "../../api/schedules.js";
import { Cron } from "../../worker/cron.js";
import { type GlobalOptions, openDwe } from "./context.js";
import { scheduleJson, table } from "./format.js";
import { type GrantFlags, parsePositiveInt, parseSize, readInput } from "./options.js";

export interface ScheduleAddFlags extends GlobalOptions, GrantFlags {
  cron: string;
  tz?: string;
  input?: string;
  entry?: string;
  timeout?: string;
  maxMemory?: string;
  json?: boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** A schedule in one line: when it fires next (or that it is paused). */
function scheduleLine(s: ScheduleInfo): string {
  return s.paused ? `${s.name}: paused` : `${s.name}: next run at ${iso(s.nextTick)}${s.tz ? ` (${s.cron} in ${s.tz})` : ""}`;
}

/** `dwe schedule add NAME --cron EXPR [--tz ZONE] MODULE`: a worker starts a run of MODULE at each tick. */
export async function scheduleAddCommand(name: string, modulePath: string, flags: ScheduleAddFlags): Promise<number> {
  checkScheduleName(name);
  Cron.parse(flags.cron, flags.tz ?? null);
  const options = {
    cron: flags.cron,
    ...(flags.tz !== undefined && { tz: flags.tz }),
    input: readInput(flags.input),
    ...(flags.entry !== undefined && { entry: flags.entry }),
    grants: { dirs: flags.dir, net: flags.allowNet, shell: flags.allowShell, envOverride: flags.allowEnvOverride },
    ...(flags.timeout !== undefined && { timeoutMs: parsePositiveInt(flags.timeout, "--timeout") }),
    ...(flags.maxMemory !== undefined && { maxMemoryBytes: parseSize(flags.maxMemory, "--max-memory") }),
  };
  const dwe = await openDwe(flags, true);
  try {
    const nextTick = await dwe.addSchedule(name, modulePath, options);
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ name, cron: flags.cron.trim(), tz: flags.tz ?? "UTC", next_tick: iso(nextTick) })}\n`
        : `${name}: next run at ${iso(nextTick)}\n`,
    );
    return 0;
  } finally {
    await dwe.close();
  }
}

export async function scheduleListCommand(flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const list = await dwe.listSchedules();
    if (flags.json) {
      process.stdout.write(JSON.stringify(list.map(scheduleJson)) + "\n");
      return 0;
    }
    const rows = [["NAME", "CRON", "TZ", "ENTRY", "NEXT", "LAST"]];
    for (const s of list) {
      rows.push([s.name, s.cron, s.tz ?? "UTC", s.entry, s.paused ? "paused" : (iso(s.nextTick) ?? ""), iso(s.lastTick) ?? "-"]);
    }
    process.stdout.write(table(rows));
    return 0;
  } finally {
    await dwe.close();
  }
}

export async function scheduleRemoveCommand(name: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    await dwe.removeSchedule(name);
    process.stdout.write(flags.json ? `${JSON.stringify({ name, removed: true })}\n` : `${name} removed\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}

/** `dwe schedule pause|resume NAME`. */
export async function schedulePauseCommand(name: string, flags: GlobalOptions & { json?: boolean }, resume = false): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const s = resume ? await dwe.resumeSchedule(name) : await dwe.pauseSchedule(name);
    process.stdout.write(flags.json ? `${JSON.stringify(scheduleJson(s))}\n` : `${scheduleLine(s)}\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}

export function scheduleResumeCommand(name: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  return schedulePauseCommand(name, flags, true);
}

/** `dwe schedule update NAME [--cron EXPR] [--tz ZONE] [--input …]`: the next tick is computed anew from now. */
export async function scheduleUpdateCommand(
  name: string,
  flags: GlobalOptions & { cron?: string; tz?: string; input?: string; json?: boolean },
): Promise<number> {
  if (flags.cron !== undefined || flags.tz !== undefined) Cron.parse(flags.cron ?? "* * * * *", flags.tz ?? null);
  const input = flags.input === undefined ? undefined : readInput(flags.input);
  const dwe = await openDwe(flags, false);
  try {
    const s = await dwe.updateSchedule(name, {
      ...(flags.cron !== undefined && { cron: flags.cron }),
      ...(flags.tz !== undefined && { tz: flags.tz }),
      ...(input !== undefined && { input }),
    });
    process.stdout.write(flags.json ? `${JSON.stringify(scheduleJson(s))}\n` : `${scheduleLine(s)}\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}
