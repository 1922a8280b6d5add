import { Cron } from "../../worker/cron.js";
import { type GlobalOptions, openDwe } from "../context.js";
import { bytesForJson } from "../format.js";
import { type GrantFlags, parsePositiveInt, parseSize, readInput } from "../options.js";
import { checkScheduleName } from "../../api/schedules.js";

export interface ScheduleAddFlags extends GlobalOptions, GrantFlags {
  cron: string;
  input?: string;
  entry?: string;
  timeout?: string;
  maxMemory?: string;
  json?: boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** `dwe schedule add NAME --cron EXPR MODULE`: a worker starts a run of MODULE at each tick (UTC). */
export async function scheduleAddCommand(name: string, modulePath: string, flags: ScheduleAddFlags): Promise<number> {
  checkScheduleName(name);
  Cron.parse(flags.cron);
  const options = {
    cron: flags.cron,
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
      flags.json ? `${JSON.stringify({ name, cron: flags.cron, next_tick: iso(nextTick) })}\n` : `${name}: next run at ${iso(nextTick)}\n`,
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
      const rows = list.map((s) => ({
        name: s.name,
        cron: s.cron,
        module: s.module,
        entry: s.entry,
        input: bytesForJson(s.input),
        next_tick: iso(s.nextTick),
        last_tick: iso(s.lastTick),
      }));
      process.stdout.write(JSON.stringify(rows) + "\n");
      return 0;
    }
    const rows = [["NAME", "CRON", "ENTRY", "NEXT", "LAST"]];
    for (const s of list) rows.push([s.name, s.cron, s.entry, iso(s.nextTick) ?? "", iso(s.lastTick) ?? "-"]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(
      rows
        .map((r) =>
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join("  ")
            .trimEnd(),
        )
        .join("\n") + "\n",
    );
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
