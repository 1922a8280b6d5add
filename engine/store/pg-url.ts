import { UsageError } from "../kernel/errors.js";

/** Where a PostgreSQL store lives: a connection URL and, optionally, a schema inside the database. */
export interface PgTarget {
  /** The connection URL without dwe's own `schema` parameter. */
  url: string;
  /** `?schema=NAME`: dwe's tables live in this schema (created if missing); null: the default search_path. */
  schema: string | null;
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Parses `postgres://user:pass@host:port/db?schema=NAME&…` (other parameters go to the driver). */
export function parsePgUrl(location: string): PgTarget {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    throw new UsageError(`bad PostgreSQL URL '${location}': use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`);
  }
  const schema = u.searchParams.get("schema");
  if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new UsageError(`bad schema '${schema}' in the PostgreSQL URL: use letters, digits and _ (at most 63)`);
  }
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

/** The URL for messages and `location`: the password is never shown. */
export function pgLocation(t: PgTarget): string {
  const u = new URL(t.url);
  if (u.password !== "") u.password = "***";
  if (t.schema !== null) u.searchParams.set("schema", t.schema);
  return u.toString();
}
