import { UsageError } from "../kernel/errors.js";
import { RUN_STATUSES, type RunFilter, type RunStatus, type Store } from "../store/types.js";
import { runInfo } from "./run-info.js";
import type { ListOptions, RunPage } from "./types.js";

/** At most this many runs in one page. */
const MAX_PAGE = 100_000;

function time(v: number | Date | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : v;
  if (!Number.isFinite(ms))
    throw new UsageError(`bad ${flag}: not a time; give a date such as 2026-12-01T09:00:00Z or a duration ago such as 2h`);
  return ms;
}

function statuses(s: ListOptions["status"]): readonly RunStatus[] | undefined {
  if (s === undefined) return undefined;
  const list = typeof s === "string" ? [s] : s;
  for (const v of list) {
    if (!RUN_STATUSES.includes(v)) throw new UsageError(`bad --status '${String(v)}': use one of ${RUN_STATUSES.join(", ")}`);
  }
  return list;
}

/** The store's filter of `o`, every option checked (UsageError naming the flag); `after` is resolved by listRuns. */
export function listFilter(o: ListOptions): RunFilter & { limit: number } {
  const limit = o.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit <= 0 || limit > MAX_PAGE) {
    throw new UsageError(`bad --limit '${limit}': expected a whole number from 1 to ${MAX_PAGE}`);
  }
  if (o.module !== undefined && !/^[0-9a-f]{1,64}$/.test(o.module)) {
    throw new UsageError(
      `bad --module '${o.module}': give the module's sha256 (hex, or a prefix of it); to find runs by file name use --name`,
    );
  }
  const status = statuses(o.status);
  return {
    ...(status !== undefined && { status }),
    ...(o.module !== undefined && { module: o.module }),
    ...(o.name !== undefined && { name: o.name }),
    ...(o.entry !== undefined && { entry: o.entry }),
    ...(o.parentId !== undefined && { parentId: o.parentId }),
    createdAfter: time(o.createdAfter, "--created-after"),
    createdBefore: time(o.createdBefore, "--created-before"),
    finishedAfter: time(o.finishedAfter, "--finished-after"),
    finishedBefore: time(o.finishedBefore, "--finished-before"),
    limit,
  };
}

/**
 * `dwe runs`: one page of the runs the options select, and the cursor of the next page when more
 * runs exist (the last run's id: the page after it is the same query with `after` set to it).
 */
export async function listRuns(store: Store, o: ListOptions): Promise<RunPage> {
  const filter = listFilter(o);
  const { limit } = filter;
  if (o.after !== undefined) {
    const last = await store.getRun(o.after);
    if (!last) throw new UsageError(`bad --after '${o.after}': no run with that id; pass the last run id of the previous page`);
    filter.after = { createdAt: last.createdAt, rid: last.rid };
  }
  const rows = await store.listRuns({ ...filter, limit: limit + 1 });
  const runs = rows.slice(0, limit).map(runInfo);
  return { runs, next: rows.length > limit ? (runs.at(-1)?.id ?? null) : null };
}
