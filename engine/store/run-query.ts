import type { RunFilter } from "./types.js";

/** How many runs `listRuns` returns when the filter sets no limit. */
export const DEFAULT_LIST_LIMIT = 1000;

/**
 * The `SELECT` of `listRuns` for both dialects (`param(n)` spells the nth placeholder): every field
 * of the filter narrows, newest first (the children of a parent in the order they were started), a
 * page continuing after `filter.after` by (created_at, rid). `columns`: what each row holds (PostgreSQL
 * adds whether the lease holder's session is gone, RUN_COLUMNS).
 */
export function runListQuery(f: RunFilter, param: (n: number) => string, columns = "*"): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return param(params.length);
  };
  if (f.parentId !== undefined) where.push(`parent_id = ${p(f.parentId)}`);
  const statuses = f.status === undefined ? [] : typeof f.status === "string" ? [f.status] : f.status;
  if (statuses.length > 0) where.push(`status IN (${statuses.map(p).join(", ")})`);
  // The API lets only hex through, so the prefix holds no LIKE wildcard.
  if (f.module !== undefined) where.push(`module LIKE ${p(`${f.module}%`)}`);
  if (f.name !== undefined) where.push(`name = ${p(f.name)}`);
  if (f.entry !== undefined) where.push(`entry = ${p(f.entry)}`);
  if (f.createdAfter !== undefined) where.push(`created_at >= ${p(f.createdAfter)}`);
  if (f.createdBefore !== undefined) where.push(`created_at < ${p(f.createdBefore)}`);
  if (f.finishedAfter !== undefined) where.push(`finished_at >= ${p(f.finishedAfter)}`);
  if (f.finishedBefore !== undefined) where.push(`finished_at < ${p(f.finishedBefore)}`);
  const ascending = f.parentId !== undefined;
  if (f.after) where.push(`(created_at, rid) ${ascending ? ">" : "<"} (${p(f.after.createdAt)}, ${p(f.after.rid)})`);
  const order = ascending ? "created_at, rid" : "created_at DESC, rid DESC";
  const sql = `SELECT ${columns} FROM runs${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ${p(f.limit ?? DEFAULT_LIST_LIMIT)}`;
  return { sql, params };
}
