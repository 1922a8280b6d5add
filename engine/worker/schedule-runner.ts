import { describeError } from "../kernel/errors.js";
import type { Store } from "../store/types.js";
import { Cron } from "./cron.js";

/**
 * Fires every schedule whose next tick is due: one run per tick, id `<name>.<tick-ms>`, created
 * together with the move of `next_tick` in one conditional update, so with several workers on the
 * same database each tick starts exactly one run. Ticks missed while no worker ran are coalesced:
 * one run for the latest, then the schedule continues from now.
 */
export async function fireDueSchedules(store: Store, now: number, log: (line: string) => void): Promise<void> {
  for (const s of await store.listSchedules()) {
    if (s.paused || s.nextTick > now) continue;
    let cron: Cron;
    try {
      cron = Cron.parse(s.cron, s.tz);
    } catch (err) {
      log(`schedule ${s.name}: ${describeError(err).message}`);
      continue;
    }
    const runId = `${s.name}.${s.nextTick}`;
    const fired = await store.fireSchedule(s.name, s.nextTick, cron.next(Math.max(now, s.nextTick)), {
      id: runId,
      module: s.module,
      name: s.config.argv0 ?? null,
      entry: s.entry,
      input: s.input,
      config: s.config,
      parentId: null,
      status: "pending",
    });
    if (fired) log(`schedule ${s.name}: started run ${runId} for the tick of ${new Date(s.nextTick).toISOString()}`);
  }
}
