// PostgreSQL for tests: every test file creates its own database (dwe_test_<random>) and drops it
// afterwards; nothing else on the server is touched. The server is $DWE_TEST_PG_URL (an admin URL),
// default postgres://postgres@127.0.0.1:5432/postgres (trust auth, as .ci/run sets it up).
import pg from "pg";
import { randomBytes } from "node:crypto";

export const PG_ADMIN_URL = process.env.DWE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Null when the server answers, else why not. */
export async function pgUnreachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Whether PostgreSQL tests run here. Unreachable outside CI: skipped with a message. Unreachable in
 * CI (process.env.CI set): the tests run and fail, so CI never passes without them.
 */
export async function pgTestsEnabled(what: string): Promise<boolean> {
  const why = await pgUnreachable();
  if (why === null) return true;
  if (process.env.CI) return true;
  process.stderr.write(
    `SKIPPED: ${what} on PostgreSQL: ${PG_ADMIN_URL} is unreachable (${why}); start PostgreSQL or set DWE_TEST_PG_URL (in CI this fails instead)\n`,
  );
  return false;
}

export interface TestDatabase {
  name: string;
  /** URL of the test database (no schema parameter). */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop: () => Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `dwe_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Runs SQL in the test database (optionally in one schema). */
export async function sql(url: string, text: string, params: unknown[] = [], schema?: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url, ...(schema && { options: `-c search_path=${schema}` }) });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}
