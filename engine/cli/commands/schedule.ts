import { readFileSync } from "node:fs";
import { UsageError } from "../../kernel/errors.js";
import { chooseEntry, inspectModule } from "../../runtime/module-loader.js";
import { Cron } from "../../worker/cron.js";
import { type GlobalOptions, dbPath, openStore } from "../context.js";
import { bytesForJson } from "../format.js";
import { type GrantFlags, checkRunId, grantsFromFlags, parsePositiveInt, parseSize, readInput } from "../options.js";

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
  const cron = Cron.parse(flags.cron);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(modulePath));
  } catch (err) {
    throw new UsageError(`cannot read module '${modulePath}': ${(err as Error).message}`);
  }
  const info = inspectModule(bytes, modulePath);
  const entry = chooseEntry(info, flags.entry, modulePath);
  const grants = grantsFromFlags(flags, process.cwd(), dbPath(flags));
  const input = readInput(flags.input);
  const timeoutMs = flags.timeout === undefined ? null : parsePositiveInt(flags.timeout, "--timeout");
  const maxMemoryBytes = flags.maxMemory === undefined ? null : parseSize(flags.maxMemory, "--max-memory");
  const nextTick = cron.next(Date.now());
  const store = openStore(flags, true);
  try {
    await store.putModule(info.sha256, info.kind, bytes);
    await store.addSchedule({
      name,
      cron: cron.source,
      module: info.sha256,
      entry,
      input,
      config: { grants, args: [], env: {}, timeoutMs, maxMemoryBytes },
      nextTick,
    });
    process.stdout.write(`${name}: next run at ${iso(nextTick)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export async function scheduleListCommand(flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const store = openStore(flags, false);
  try {
    const list = await store.listSchedules();
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
    await store.close();
  }
}

export async function scheduleRemoveCommand(name: string, flags: GlobalOptions): Promise<number> {
  const store = openStore(flags, false);
  try {
    if (!(await store.removeSchedule(name))) throw new UsageError(`no schedule named '${name}'; see \`dwe schedule list\``);
    process.stdout.write(`${name} removed\n`);
    return 0;
  } finally {
    await store.close();
  }
}
