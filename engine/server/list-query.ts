// The query of `GET /api/runs`: `dwe runs`'s filters, spelled in snake_case.
import type { ListOptions, RunStatus } from "../api/types.js";
import { parseDuration } from "../kernel/duration.js";
import { badRequest } from "./http-error.js";

const PARAMS = [
  "status",
  "name",
  "module",
  "entry",
  "parent",
  "created_after",
  "created_before",
  "finished_after",
  "finished_before",
  "after",
  "limit",
] as const;

/** A date (`2026-12-01`, `2026-12-01T09:00:00Z`) or a duration ago (`30m`, `2h`, `7d`), as `dwe runs` reads them. */
function time(value: string, param: string, now: number): number {
  const ago = parseDuration(value);
  if (ago !== undefined) return now - ago;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw badRequest(`bad ${param} '${value}': give a date such as 2026-12-01T09:00:00Z, or a duration ago such as 30m, 2h or 7d`);
  return t;
}

/** The list options of a query (unknown or repeated parameters refused); `limit` defaults to 100, as `dwe runs`. */
export function listQuery(q: URLSearchParams, now: number): ListOptions {
  for (const k of q.keys()) {
    if (!(PARAMS as readonly string[]).includes(k)) throw badRequest(`unknown query parameter '${k}'; known: ${PARAMS.join(", ")}`);
    if (q.getAll(k).length > 1) throw badRequest(`query parameter '${k}' is given more than once`);
  }
  const get = (k: (typeof PARAMS)[number]) => q.get(k) ?? undefined;
  const status = get("status");
  const limit = get("limit");
  if (limit !== undefined && !/^\d{1,9}$/.test(limit)) throw badRequest(`bad limit '${limit}': expected a positive whole number`);
  const o: ListOptions = { limit: limit === undefined ? 100 : Number(limit) };
  if (status !== undefined) o.status = status.split(",").map((s) => s.trim()) as RunStatus[];
  const module = get("module");
  if (module !== undefined) o.module = module.toLowerCase();
  const name = get("name");
  if (name !== undefined) o.name = name;
  const entry = get("entry");
  if (entry !== undefined) o.entry = entry;
  const parent = get("parent");
  if (parent !== undefined) o.parentId = parent;
  const after = get("after");
  if (after !== undefined) o.after = after;
  for (const [param, key] of [
    ["created_after", "createdAfter"],
    ["created_before", "createdBefore"],
    ["finished_after", "finishedAfter"],
    ["finished_before", "finishedBefore"],
  ] as const) {
    const v = get(param);
    if (v !== undefined) o[key] = time(v, param, now);
  }
  return o;
}
