// Reading a run's whole journal for replay (SqliteStore.readJournal) in chunks of entries. One row
// per entry through better-sqlite3 costs a row array and a Buffer per payload, most of a replay's
// read time and the garbage it makes; here the fixed columns of up to CHUNK_ENTRIES entries come as
// one string of numbers parsed by JSON.parse into one flat array (printf'd integers, -1 for a cell
// that holds no integer: a damaged cell is a wrong number, which the checks below report, never a
// wrong shape), and their payloads as one blob that each entry's payload is a view of. Chunks whose
// payloads pass CHUNK_BYTES (SQLite refuses values over its length limit; a payload may be 64 MiB)
// read their payloads one by one. All in one read transaction: one snapshot.
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

/** Numbers per entry in a chunk's fixed columns: seq, op, digest, state, payload length, sum. */
const FIXED = 6;
/** A column's integer, or -1 for a cell of another type (SQLite keeps any type): no entry has -1, so the checks fail. */
const INT = (column: string) => `iif(typeof(${column}) = 'integer', ${column}, -1)`;

export function journalReadStatements(db: Database.Database): JournalReadStatements {
  const fixed = db
    .prepare(
      `SELECT '[' || group_concat(printf('%d,%d,%d,%d,%d,%d', ${INT("seq")}, ${INT("op")}, ${INT("digest")}, ${INT("state")}, len, ${INT("sum")}), ',' ORDER BY seq) || ']'
         FROM (SELECT seq, op, digest, state, length(payload) AS len, sum FROM journal WHERE rid = ? AND seq >= ? ORDER BY seq LIMIT ?)`,
    )
    .pluck();
  // group_concat keeps a blob's bytes (zeros included); the CAST makes the result a blob again.
  const payloads = db
    .prepare("SELECT CAST(group_concat(payload, x'' ORDER BY seq) AS BLOB) FROM journal WHERE rid = ? AND seq >= ? AND seq <= ?")
    .pluck();
  const payload = db.prepare("SELECT payload FROM journal WHERE rid = ? AND seq = ?").pluck();
  const empty = new Uint8Array(0);

  const read = (rid: number): JournalCheck => {
    const entries: JournalEntry[] = [];
    for (let from = 1; ;) {
      const text = fixed.get(rid, from, CHUNK_ENTRIES) as string | null;
      if (text === null) break;
      const f = JSON.parse(text) as number[];
      const count = f.length / FIXED;
      let bytes = 0;
      for (let i = 4; i < f.length; i += FIXED) bytes += f[i]!;
      const last = f[f.length - FIXED]!;
      const blob = bytes <= CHUNK_BYTES ? ((payloads.get(rid, from, last) as Buffer | null) ?? empty) : null;
      if (blob !== null && blob.length !== bytes) {
        return { ok: false, problem: `the journal's payloads from seq ${from} do not add up to their lengths`, seq: from };
      }
      // Plain views of the chunk's blob: a Buffer's subarray costs several times more per entry.
      const base = blob?.byteOffset ?? 0;
      let at = 0;
      for (let i = 0; i < f.length; i += FIXED) {
        // One entry's numbers, in the order the query prints them (no array per entry: this is replay's path).
        const seq = f[i]!;
        const op = f[i + 1]!;
        const digest = f[i + 2]!;
        const state = f[i + 3]!;
        const length = f[i + 4]!;
        const sum = f[i + 5]!;
        const expected = entries.length + 1;
        const body =
          blob !== null ? new Uint8Array(blob.buffer, base + at, length) : ((payload.get(rid, seq) as Buffer | undefined) ?? empty);
        at += length;
        const problem = journalRowProblem(expected, seq, op, digest, state, body, sum);
        if (problem !== null) return { ok: false, problem, seq: expected };
        entries.push({ seq, op, digest, state: state as EntryState, payload: body });
      }
      if (count < CHUNK_ENTRIES) break;
      from = last + 1;
    }
    return { ok: true, entries };
  };
  return { any: db.prepare<[number]>("SELECT 1 FROM journal WHERE rid = ? LIMIT 1").pluck(), transaction: db.transaction(read) };
}
