import { readFileSync } from "node:fs";
import { UsageError } from "../../kernel/errors.js";
import { Cron } from "../../worker/cron.js";
import { type GlobalOptions, openDwe } from "../context.js";
import { bytesForJson } from "../format.js";
import { type GrantFlags, checkRunId, parsePositiveInt, parseSize, readInput } from "../options.js";

export interface ScheduleAddFlags extends GlobalOptions, GrantFlags {
  cron: string;
  input?: string;
  entry?: string;
  timeout?: string;
  maxMemory?: string;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** `dwe schedule add NAME --cron EXPR MODULE`: a worker starts a run of MODULE at each tick (UTC). */
export async function scheduleAddCommand(name: string, modulePath: string, flags: ScheduleAddFlags): Promise<number> {
  checkRunId(name);
  if (name.length > 100) throw new UsageError(`bad schedule name '${name}': at most 100 characters`);
  Cron.parse(flags.cron);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(modulePath));
  } catch (err) {
    throw new UsageError(`cannot read module '${modulePath}': ${(err as Error).message}`);
  }
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
    const nextTick = await dwe.addSchedule(name, { bytes, name: modulePath }, options);
    process.stdout.write(`${name}: next run at ${iso(nextTick)}\n`);
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

export async function scheduleRemoveCommand(name: string, flags: GlobalOptions): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    await dwe.removeSchedule(name);
    process.stdout.write(`${name} removed\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}
