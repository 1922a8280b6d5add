import type Database from "better-sqlite3";
import type { GroupWrite } from "./commit-group.js";
import { finishNow } from "./sqlite-claims.js";
import { appendTransaction, type WideInserts } from "./sqlite-journal.js";
import type { Statements } from "./sqlite-statements.js";

/**
 * The SQLite store's group flush: one `BEGIN IMMEDIATE … COMMIT` (one fsync with --durability
 * fsync) for the whole batch, each write in a savepoint of its own, so a write that fails (a lease
 * lost) is rolled back alone and the others commit. An error that ended the transaction itself
 * (SQLite rolls back on a full disk or an I/O error) fails the whole batch.
 */
export function groupTransaction(db: Database.Database, stmt: Statements, wide: WideInserts): (writes: readonly GroupWrite[]) => unknown[] {
  // Called inside the group's transaction, each of these runs as a savepoint.
  const append = appendTransaction(db, stmt, wide);
  const finish = db.transaction((w: Extract<GroupWrite, { kind: "finish" }>) => finishNow(stmt, w.lease, w.end));
  const group = db.transaction((writes: readonly GroupWrite[]): unknown[] =>
    writes.map((w) => {
      try {
        if (w.kind === "append") append(w.lease, w.entries, w.logs);
        else finish(w);
        return null;
      } catch (err) {
        if (!db.inTransaction) throw err;
        return err;
      }
    }),
  );
  return (writes) => group.immediate(writes);
}
