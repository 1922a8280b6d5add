import { setTimeout as delay } from "node:timers/promises";
import { RunNotFound } from "../kernel/errors.js";
import { isTerminal, type RunRecord, type Store } from "../store/types.js";
import { logLine } from "./run-info.js";
import type { LogLine, LogsOptions } from "./types.js";

/**
 * The run and its descendants in log order: each run, then its children in the order they were
 * started, each child's own children right after it (`dwe logs` prints a pipeline's jobs so).
 */
export async function logFamily(store: Store, root: RunRecord): Promise<RunRecord[]> {
  const family = [root];
  for (let i = 0; i < family.length; i++) {
    const children = await store.listRuns({ parentId: family[i]!.id, limit: 100_000 });
    family.splice(i + 1, 0, ...children.sort((a, b) => a.rid - b.rid));
  }
  return family;
}

/**
 * What a run and its child runs logged, once each: every line stored so far, in `logFamily` order;
 * with `follow`, then the lines logged after, as they are committed, until the whole family has
 * ended (or `signal` is aborted).
 */
export async function* readLogs(store: Store, runId: string, o: LogsOptions = {}): AsyncGenerator<LogLine> {
  const seen = new Map<number, number>(); // rid -> last seq yielded
  for (;;) {
    const root = await store.getRun(runId);
    if (!root) throw new RunNotFound(runId);
    const family = await logFamily(store, root);
    // Read the states before the logs: a run seen ended here has all its lines in what follows.
    const ended = family.every((r) => isTerminal(r.status));
    for (const r of family) {
      const after = seen.get(r.rid) ?? 0;
      for (const l of await store.readLogs(r.rid)) {
        if (l.seq <= after) continue;
        seen.set(r.rid, l.seq);
        yield logLine(r.id, l);
      }
    }
    if (!o.follow || ended || o.signal?.aborted) return;
    await delay(o.pollMs ?? 200, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
    if (o.signal?.aborted) return;
  }
}
