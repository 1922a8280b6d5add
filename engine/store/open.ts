import { PgStore } from "./pg-store.js";
import { isPostgresUrl, parsePgUrl } from "./pg-url.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Durability } from "./types.js";
import type { Store } from "./types.js";

/**
 * Opens the store at `location`: a `postgres://` (or `postgresql://`) URL selects PostgreSQL,
 * anything else is an SQLite file path. Used by the CLI and by worker threads, which open their
 * own connection to the same location.
 */
export function openStoreAt(location: string, durability: Durability, create = true): Store {
  if (isPostgresUrl(location)) return new PgStore(parsePgUrl(location), { durability, create });
  return new SqliteStore(location, durability);
}
