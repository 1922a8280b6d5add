import Database from "better-sqlite3";

/** Every row of the named tables, for comparing a database before and after a command. */
export function dumpDatabase(path: string, tables: string[]): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).raw().all()]));
  } finally {
    db.close();
  }
}
