import { StoreError } from "../kernel/errors.js";

/** SQLite result codes that mean the file itself is damaged or not a database. */
const DAMAGED = /^SQLITE_(CORRUPT|NOTADB)/;

/**
 * Turns a raw SQLite error about a damaged file (raised by a query after the database was opened,
 * e.g. a page in the middle of the file overwritten) into a StoreError that names the file and
 * what to do. Anything else is returned as it is.
 */
export function explainStoreError(err: unknown, location: string | undefined): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (location === undefined || typeof code !== "string" || !DAMAGED.test(code)) return err;
  return new StoreError(
    `the database ${location} is damaged (${(err as Error).message}); nothing was changed. ` +
      `Restore it from a backup, or point --db (or DWE_DB) at another database`,
    { cause: err },
  );
}
