import type { Store } from "../store/types.js";

/** Placeholder until schedules land: nothing to fire. */
export async function fireDueSchedules(_store: Store, _now: number, _log: (line: string) => void): Promise<void> {}
