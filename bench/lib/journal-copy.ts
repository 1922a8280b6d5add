import Database from "better-sqlite3";

/**
 * Copies the first `count` journal entries of run `fromId` into run `toId` (same database), as if
 * `toId` had made those calls and then stopped. Uses its own connection (the store's is private).
 */
export function copyJournalPrefix(dbPath: string, fromId: string, toId: string, count: number): void {
  const db = new Database(dbPath, { timeout: 30_000 });
  try {
    const rid = db.prepare("SELECT rid FROM runs WHERE id = ?").pluck();
    const from = rid.get(fromId) as number;
    const to = rid.get(toId) as number;
    const n = db
      .prepare(
        "INSERT INTO journal (rid, seq, op, digest, state, payload, sum) SELECT ?, seq, op, digest, state, payload, sum FROM journal WHERE rid = ? AND seq <= ?",
      )
      .run(to, from, count).changes;
    if (n !== count) throw new Error(`copied ${n} journal entries, expected ${count}`);
  } finally {
    db.close();
  }
}

/** Bytes the named table and its indexes take in the database file (SQLite's dbstat). */
export function tableBytes(dbPath: string, table: string): number {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = ?").pluck().get(table) as number;
  } finally {
    db.close();
  }
}
