import { DweError, StoreError } from "../kernel/errors.js";

/** SQLite result codes that mean the file itself is damaged or not a database. */
const DAMAGED = /^SQLITE_(CORRUPT|NOTADB)/;

/**
 * better-sqlite3's errors as the SQLite store throws them, a StoreError as the PostgreSQL store's
 * are: dwe's own errors pass through; a damaged file (a page in the middle overwritten, found by a
 * query after the database was opened) is named with what to do; anything else keeps the driver's
 * message, with the driver's error as its cause.
 */
export function sqliteStoreError(err: unknown, location: string): DweError {
  if (err instanceof DweError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && DAMAGED.test(code)) {
    return new StoreError(
      `the database ${location} is damaged (${e.message}); nothing was changed. ` +
        `Restore it from a backup, or point --db (or DWE_DB) at another database`,
      { cause: err },
    );
  }
  return new StoreError(e.message, { cause: err });
}
