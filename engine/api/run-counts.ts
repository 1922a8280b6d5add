import type { RunStatus } from "../store/types.js";

type Counts = Partial<Record<RunStatus, number>>;

/**
 * `count` at most once every `ms`: the runs-by-status gauge is read at every scrape, and however
 * often the metrics endpoint is asked (by Prometheus or anyone who reaches it), the database is
 * counted at most this often.
 */
export function countRunsEvery(ms: number, count: () => Promise<Counts>): () => Promise<Counts> {
  let last: { at: number; counts: Promise<Counts> } | null = null;
  return () => {
    const now = Date.now();
    if (last === null || now - last.at >= ms) {
      const counts = count();
      last = { at: now, counts };
      // A failed count is not kept: the next scrape tries again.
      counts.catch(() => {
        if (last?.counts === counts) last = null;
      });
    }
    return last.counts;
  };
}
