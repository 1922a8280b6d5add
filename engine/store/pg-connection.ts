import { createRequire } from "node:module";
import type pg from "pg";
import { DweError, StoreError } from "../kernel/errors.js";

// The pg driver as the PostgreSQL store uses it: loading, value types, retries and errors.

export type Db = pg.PoolClient;

/** One statement outside a transaction (PgStore's q): what the pg-*.ts modules are given to run one. */
export type Query = <R extends pg.QueryResultRow>(sql: string, params?: unknown[], retry?: boolean) => Promise<pg.QueryResult<R>>;

/** The pg driver, loaded on first use: commands on an SQLite database do not pay for it at startup. */
let pgDriver: typeof pg | null = null;
export function pgLib(): typeof pg {
  return (pgDriver ??= createRequire(import.meta.url)("pg") as typeof pg);
}

export const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** BIGINT (int8) and NUMERIC come back as JavaScript numbers: every value dwe stores fits in 2^53. */
export const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return pgLib().types.getTypeParser(oid, format as "text") as (v: string) => unknown;
  }) as typeof pg.types.getTypeParser,
};

/** PostgreSQL SQLSTATEs worth retrying the whole transaction for. */
export const RETRY = new Set(["40001", "40P01"]);
export const UNIQUE = "23505";
/** Attempts for a statement or transaction that lost its connection (about 3 s of back-off in all). */
export const RECONNECT_TRIES = 6;
export const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.min(1600, 100 * 2 ** (attempt - 1))));

/** Connections per store (per process, and per worker executor thread): $DWE_PG_POOL, default 4. */
export function poolSizeFromEnv(): number {
  const v = Number(process.env.DWE_PG_POOL ?? "4");
  return Number.isInteger(v) && v > 0 ? v : 4;
}

/** The server went away or restarted (or is not accepting connections yet): try again on a new connection. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string } } | null;
  const code = e?.code ?? e?.cause?.code;
  if (
    typeof code === "string" &&
    (code.startsWith("08") || ["57P01", "57P02", "57P03", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"].includes(code))
  ) {
    return true;
  }
  return /Connection terminated|connection timeout|connection error/i.test(e?.message ?? "");
}

/** dwe's own errors pass through; anything from the driver becomes a StoreError naming the database. */
export function wrap(err: unknown, location: string): unknown {
  if (err instanceof DweError) return err;
  const e = err as Error & { code?: string };
  return new StoreError(`PostgreSQL store ${location}: ${e.message}${e.code ? ` (SQLSTATE ${e.code})` : ""}`, { cause: err });
}
