import { setTimeout as delay } from "node:timers/promises";
import { RunStateError, describeError } from "../kernel/errors.js";
import { liveLeaseHolder } from "../store/lease-owner.js";
import { isTerminal, type RunRecord, type Store } from "../store/types.js";

// Executing a run together with its child runs in this process (`dwe run`, `dwe resume`,
// `dwe pipeline` without --detach): a parent that waits for its children (child.join) would
// otherwise suspend until a worker ran them. A worker may still take any of them: a run whose
// lease another live process holds is left to it and watched.

export interface FamilyOptions {
  store: Store;
  /** Executes one attempt of a run (in this thread or a killable one); returns the run afterwards. */
  executeOne: (runId: string) => Promise<RunRecord>;
  /** Told about a descendant that could not be executed here (the root's errors are thrown). */
  onError: (runId: string, message: string) => void;
  signal: AbortSignal;
  /** How often to look at runs executed elsewhere or due later (ms). */
  pollMs?: number;
}

/**
 * Executes `rootId` and then, while it waits for children, every descendant that can go on: new
 * ones, ones whose sleep is due, ones whose children ended since they suspended, ones whose lease
 * holder died. Returns the root as stored once it has ended, or once nothing in the family can go on
 * here (the root sleeps past --suspend-after, or waits for a signal).
 */
export async function executeFamily(rootId: string, o: FamilyOptions): Promise<RunRecord> {
  const pollMs = o.pollMs ?? 200;
  // When each run's last attempt here began: a child that ended after that may have been missed by
  // the attempt's child.join (it looked before the child ended), so the parent goes again.
  const lastStart = new Map<string, number>([[rootId, Date.now()]]);
  let root = await o.executeOne(rootId);
  const active = new Map<string, Promise<void>>();
  const broken = new Set<string>();
  let wake!: () => void;
  let woken = new Promise<void>((r) => (wake = r));
  const start = (id: string) => {
    lastStart.set(id, Date.now());
    const p = (async () => {
      try {
        const r = await o.executeOne(id);
        if (id === rootId) root = r;
      } catch (err) {
        if (err instanceof RunStateError) return; // held by another process, or ended meanwhile
        if (id === rootId) throw err;
        broken.add(id);
        o.onError(id, describeError(err).message);
      }
    })().finally(() => {
      active.delete(id);
      wake();
    });
    active.set(id, p);
  };
  let rootError: unknown;
  for (;;) {
    if (isTerminal(root.status) && active.size === 0) return root;
    const family = await familyOf(o.store, rootId);
    root = family[0] ?? root;
    const now = Date.now();
    let nextWake = Infinity;
    let elsewhere = false;
    let pending = false;
    for (const run of family) {
      if (active.has(run.id) || broken.has(run.id) || isTerminal(run.status)) continue;
      if (run.id === rootId && isTerminal(root.status)) continue;
      const holder = liveLeaseHolder(run, now);
      if (holder !== null) {
        elsewhere = true;
        continue;
      }
      if (run.status === "suspended") {
        const since = lastStart.get(run.id) ?? run.updatedAt;
        const childEnded = family.some((c) => c.parentId === run.id && c.finishedAt !== null && c.finishedAt >= since);
        if (!childEnded && (run.wakeAt === null || run.wakeAt > now)) {
          if (run.wakeAt !== null && run.id !== rootId) nextWake = Math.min(nextWake, run.wakeAt);
          continue;
        }
      }
      if (run.id !== rootId) pending = true;
      if (!o.signal.aborted) start(run.id);
    }
    if (active.size === 0) {
      if (o.signal.aborted || (!elsewhere && !pending && nextWake === Infinity)) return root;
    }
    // Wait for an attempt here to end, a descendant's timer, or the next look at other processes' runs.
    const waitMs = Math.max(0, Math.min(nextWake - now, active.size === 0 || elsewhere ? pollMs : Infinity));
    const timer = Number.isFinite(waitMs) ? delay(waitMs, undefined, { signal: o.signal }).catch(() => undefined) : new Promise(() => {});
    await Promise.race([woken, timer, ...[...active.values()].map((p) => p.catch((e: unknown) => (rootError = e)))]);
    if (rootError !== undefined) throw rootError;
    woken = new Promise<void>((r) => (wake = r));
  }
}

/** The run and all its descendants, the run first. */
async function familyOf(store: Store, rootId: string): Promise<RunRecord[]> {
  const root = await store.getRun(rootId);
  if (!root) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    // Children are listed only for runs that can have started some (any status but pending).
    if (out[i]!.status === "pending") continue;
    out.push(...(await store.listRuns({ parentId: out[i]!.id, limit: 100_000 })));
  }
  return out;
}
