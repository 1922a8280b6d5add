// The disk's own cost, the baseline of figures that sync (B11, B12): one fdatasync of a small write,
// and one SQLite transaction of one row as dwe's store opens it with --durability fsync.
import Database from "better-sqlite3";
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { nowMs } from "./stats.js";

/** µs per fdatasync of a small write to a file in `dir` (the database's directory, so the same disk). */
export function fdatasyncCost(dir: string, n: number): number {
  const fd = openSync(join(dir, "fdatasync-probe"), "w");
  try {
    const block = Buffer.alloc(4096, 1);
    const t0 = nowMs();
    for (let i = 0; i < n; i++) {
      writeSync(fd, block, 0, block.length, (i % 16) * block.length);
      fdatasyncSync(fd);
    }
    return ((nowMs() - t0) * 1000) / n;
  } finally {
    closeSync(fd);
  }
}

/**
 * µs per SQLite transaction of one small row in WAL mode with synchronous=FULL, as dwe's store opens
 * it with --durability fsync: the floor of a step that commits once.
 */
export function sqliteCommitCost(dir: string, n: number): number {
  const db = new Database(join(dir, "commit-probe.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)");
    const insert = db.prepare("INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)");
    const row = Buffer.alloc(64, 1);
    const t0 = nowMs();
    for (let i = 0; i < n; i++) insert.run(i, row);
    return ((nowMs() - t0) * 1000) / n;
  } finally {
    db.close();
  }
}
