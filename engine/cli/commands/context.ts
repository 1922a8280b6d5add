import { resolve } from "node:path";
import { UsageError } from "../../kernel/errors.js";
import { isPostgresUrl } from "../../store/pg-url.js";
import type { Durability } from "../../store/types.js";
import { Dwe } from "../../api/dwe.js";

export interface GlobalOptions {
  db?: string;
  durability?: string;
  debug?: boolean;
}

export const DEFAULT_DB = ".dwe/dwe.db";

/**
 * The database from --db, else DWE_DB, else .dwe/dwe.db in the working directory: an SQLite path
 * (made absolute) or a postgres:// URL (kept as it is).
 */
export function dbPath(opts: GlobalOptions): string {
  const p = opts.db ?? process.env.DWE_DB ?? DEFAULT_DB;
  if (p === "") throw new UsageError("--db (or DWE_DB) is empty; give a database path or a postgres:// URL");
  return isPostgresUrl(p) ? p : resolve(p);
}

export function parseDurability(value: string | undefined): Durability {
  const v = value ?? process.env.DWE_DURABILITY ?? "process";
  if (v !== "process" && v !== "fsync")
    throw new UsageError(`bad --durability '${v}': use 'process' (survives process crashes) or 'fsync' (survives power loss)`);
  return v;
}

/**
 * The library API on the database of the flags (the CLI is its client). `create: false` is for
 * commands that only read: they refuse a missing database instead of making an empty one.
 */
export function openDwe(opts: GlobalOptions, create: boolean): Promise<Dwe> {
  return Dwe.open({ db: dbPath(opts), durability: parseDurability(opts.durability), create });
}

/** Exit codes of the CLI; documented in README.md. */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  error: 2,
  cancelled: 3,
  suspended: 75,
} as const;
