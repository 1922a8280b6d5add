import { setTimeout as delay } from "node:timers/promises";
import { RunNotFound } from "../kernel/errors.js";
import { isTerminal, type Store } from "../store/types.js";
import { checkFrom, journalView } from "./journal.js";
import type { JournalEvent, JournalFollowOptions, JournalView } from "./types.js";

/**
 * `dwe journal --follow`: the run's attempts, entries and retries as they are now, then each change
 * as it is committed (a new attempt, an attempt's end, a new entry, an intent's outcome, a retry),
 * until the run has ended (the last event says how) or `o.signal` is aborted. A failed run ends the
 * follow: only `dwe retry` continues it, and following it again then shows the retry. Polls the
 * store (every `pollMs`).
 */
export async function* followJournal(store: Store, runId: string, o: JournalFollowOptions = {}): AsyncGenerator<JournalEvent> {
  const from = checkFrom(o.from);
  const seen = newSeen();
  let settled = from; // entries below this seq are final (ok or error): not read again, unless a retry cuts them
  for (;;) {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    // Read the run before its journal: a run seen ended here has every entry in what follows.
    const ended = isTerminal(run.status);
    let view = await journalView(store, run, settled, o.full === true);
    // A retry since the last look (a failed run retried between two polls): its cut entries were
    // told as final, and the seqs from the cut are written again by the attempts after it.
    const cut = Math.min(...view.retries.filter((r) => !seen.retries.has(r.number)).map((r) => r.fromSeq));
    if (cut < settled) {
      for (const seq of seen.entries.keys()) if (seq >= cut) seen.entries.delete(seq);
      settled = Math.max(from, cut);
      view = await journalView(store, run, settled, o.full === true);
    }
    yield* journalEvents(view, seen);
    const open = view.entries.find((e) => e.state === "intent");
    settled = open?.seq ?? (view.entries[view.entries.length - 1]?.seq ?? settled - 1) + 1;
    if (ended) {
      yield { type: "end", status: run.status };
      return;
    }
    if (o.signal?.aborted) return;
    await delay(o.pollMs ?? 200, undefined, o.signal ? { signal: o.signal } : {}).catch(() => undefined);
    if (o.signal?.aborted) return;
  }
}

/** What was last told of each attempt (live or ended, by number), entry (its state, by seq) and retry (by number). */
export interface Seen {
  attempts: Map<number, string>;
  entries: Map<number, string>;
  retries: Set<number>;
}

export function newSeen(): Seen {
  return { attempts: new Map(), entries: new Map(), retries: new Set() };
}

/**
 * The events that tell what changed in `view` since `seen` (all of it for a fresh `seen`), in
 * timeline order: an attempt that starts, the entries it wrote, then its end; a retry after the end
 * of the attempt that failed, before the next one starts. Entries written before dwe recorded
 * attempts come first.
 */
export function journalEvents(view: JournalView, seen: Seen): JournalEvent[] {
  const out: { key: [number, number, number]; event: JournalEvent }[] = [];
  for (const a of view.attempts) {
    const told = seen.attempts.get(a.number);
    if (told === undefined) out.push({ key: [a.number, 0, 0], event: { type: "attempt", phase: "start", attempt: a } });
    const state = a.live ? "live" : "ended";
    if (state === "ended" && told !== "ended") out.push({ key: [a.number, 2, 0], event: { type: "attempt", phase: "end", attempt: a } });
    seen.attempts.set(a.number, state);
  }
  for (const e of view.entries) {
    const key = `${e.state}:${e.pending ?? ""}`;
    if (seen.entries.get(e.seq) === key) continue;
    seen.entries.set(e.seq, key);
    out.push({ key: [e.attempt ?? 0, 1, e.seq], event: { type: "entry", entry: e } });
  }
  for (const r of view.retries) {
    if (seen.retries.has(r.number)) continue;
    seen.retries.add(r.number);
    out.push({ key: [r.afterAttempt, 3, r.number], event: { type: "retry", retry: r } });
  }
  out.sort((x, y) => x.key[0] - y.key[0] || x.key[1] - y.key[1] || x.key[2] - y.key[2]);
  return out.map((x) => x.event);
}
