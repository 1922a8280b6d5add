// Reading a run's whole journal for replay (SqliteStore.readJournal) in chunks of entries. One row
// per entry through better-sqlite3 costs a row array and a Buffer per payload, most of a replay's
// read time and the garbage it makes; here the fixed columns of up to CHUNK_ENTRIES entries come
// as raw rows of numbers, and their payloads as one blob that each entry's payload is a view of.
// Chunks whose payloads pass CHUNK_BYTES (SQLite refuses values over its length limit; a payload
// may be 64 MiB) read their payloads one by one. All in one read transaction: one snapshot.
import type Database from "better-sqlite3";
import type { EntryState, JournalEntry } from "../journal/entry.js";
import { journalRowProblem, type JournalCheck } from "./rules.js";

/** Entries per chunk: large enough that the per-query cost vanishes, small enough to keep memory flat. */
export const CHUNK_ENTRIES = 4096;
/** Payload bytes above which a chunk's payloads are read one by one instead of as one blob. */
export const CHUNK_BYTES = 16 * 1024 * 1024;

/** The statements the chunked read runs (prepared once per store). */
export interface JournalReadStatements {
  /** Whether the run has any entry: a new run's empty journal is read with this one statement. */
  readonly any: Database.Statement<[number]>;
  readonly transaction: Database.Transaction<(rid: number) => JournalCheck>;
}

type FixedColumns = [seq: number, op: number, digest: number, state: number, length: number, sum: number];

export function journalReadStatements(db: Database.Database): JournalReadStatements {
  const fixed = db
    .prepare("SELECT seq, op, digest, state, length(payload), sum FROM journal WHERE rid = ? AND seq >= ? ORDER BY seq LIMIT ?")
    .raw();
  // group_concat keeps a blob's bytes (zeros included); the CAST makes the result a blob again.
  const payloads = db
    .prepare("SELECT CAST(group_concat(payload, x'' ORDER BY seq) AS BLOB) FROM journal WHERE rid = ? AND seq >= ? AND seq <= ?")
    .pluck();
  const payload = db.prepare("SELECT payload FROM journal WHERE rid = ? AND seq = ?").pluck();
  const empty = new Uint8Array(0);

  const read = (rid: number): JournalCheck => {
    const entries: JournalEntry[] = [];
    for (let from = 1; ;) {
      const rows = fixed.all(rid, from, CHUNK_ENTRIES) as FixedColumns[];
      if (rows.length === 0) break;
      let bytes = 0;
      for (const r of rows) bytes += r[4];
      const last = rows[rows.length - 1]![0];
      const blob = bytes <= CHUNK_BYTES ? ((payloads.get(rid, from, last) as Buffer | null) ?? empty) : null;
      if (blob !== null && blob.length !== bytes) {
        return { ok: false, problem: `the journal's payloads from seq ${from} do not add up to their lengths`, seq: from };
      }
      let at = 0;
      for (const [seq, op, digest, state, length, sum] of rows) {
        const expected = entries.length + 1;
        const body = blob !== null ? blob.subarray(at, at + length) : ((payload.get(rid, seq) as Buffer | undefined) ?? empty);
        at += length;
        const problem = journalRowProblem(expected, seq, op, digest, state, body, sum);
        if (problem !== null) return { ok: false, problem, seq: expected };
        entries.push({ seq, op, digest, state: state as EntryState, payload: body });
      }
      if (rows.length < CHUNK_ENTRIES) break;
      from = last + 1;
    }
    return { ok: true, entries };
  };
  return { any: db.prepare<[number]>("SELECT 1 FROM journal WHERE rid = ? LIMIT 1").pluck(), transaction: db.transaction(read) };
}
