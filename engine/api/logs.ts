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
 * with `all`, also the lines retries cut (`cut`: the retry's number), each run's lines in the order
 * they were logged; with `follow`, then the lines logged after, as they are committed, until the
 * whole family has ended (or `signal` is aborted). A retry seen while following makes the seqs it
 * cut new again: the attempt after it logs them anew.
 */
export async function* readLogs(store: Store, runId: string, o: LogsOptions = {}): AsyncGenerator<LogLine> {
  const seen = new Map<number, { after: number; retries: Set<number> }>(); // rid -> last seq yielded, retries seen
  for (;;) {
    const root = await store.getRun(runId);
    if (!root) throw new RunNotFound(runId);
    const family = await logFamily(store, root);
    // Read the states before the logs: a run seen ended here has all its lines in what follows.
    const ended = family.every((r) => isTerminal(r.status));
    for (const r of family) {
      const first = !seen.has(r.rid);
      const told = seen.get(r.rid) ?? { after: 0, retries: new Set<number>() };
      seen.set(r.rid, told);
      const cuts = o.all === true || o.follow === true ? await store.listCutLogs(r.rid) : [];
      const lines: LogLine[] = [];
      for (const c of cuts) {
        if (told.retries.has(c.retry)) continue;
        told.retries.add(c.retry);
        told.after = Math.min(told.after, c.fromSeq - 1);
        // Lines told live before the retry cut them are not told again.
        if (first && o.all === true) for (const l of c.lines) lines.push({ ...logLine(r.id, l), cut: c.retry });
      }
      for (const l of await store.readLogs(r.rid)) if (l.seq > told.after) lines.push(logLine(r.id, l));
      if (first && lines.some((l) => l.cut !== undefined)) lines.sort(byTime);
      for (const l of lines) {
        if (l.cut === undefined) told.after = Math.max(told.after, l.seq);
        yield l;
      }
    }
    if (!o.follow || ended || o.signal?.aborted) return;
    await delay(o.pollMs ?? 200, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
    if (o.signal?.aborted) return;
  }
}

/** When a line was logged; in the same ms by seq, a cut line before the one its retry logged again. */
function byTime(a: LogLine, b: LogLine): number {
  return a.at - b.at || a.seq - b.seq || (a.cut ?? Infinity) - (b.cut ?? Infinity);
}
