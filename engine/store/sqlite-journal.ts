import type Database from "better-sqlite3";
import { LeaseLost } from "../kernel/errors.js";
import type { JournalEntry, JournalRecord, LogRecord } from "../journal/entry.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../kernel/ops.js";
import { type JournalRecordRow, checkJournalRecords, damagedJournal } from "./rules.js";
import type { JournalReadStatements } from "./sqlite-journal-read.js";
import { JOURNAL_COLUMNS, JOURNAL_INSERT, JOURNAL_ROW, JOURNAL_UPSERT, type Statements } from "./sqlite-statements.js";
import type { JournalSummary, Lease } from "./types.js";

/** Rows per multi-row journal insert, widest first (see putEntries). */
const WIDE_INSERTS = [128, 16] as const;

/** A store's multi-row insert statements, by width, and the argument array they share. */
export interface WideInserts {
  readonly args: unknown[];
  readonly stmts: Map<number, Database.Statement>;
}

export function wideInserts(): WideInserts {
  return { args: [], stmts: new Map<number, Database.Statement>() };
}

/** A run's journal in order, every entry's checksum checked (read in chunks: sqlite-journal-read.ts). */
export async function readJournal(
  db: Database.Database,
  read: JournalReadStatements,
  location: string,
  rid: number,
): Promise<JournalEntry[]> {
  // One statement sees one snapshot: an empty journal needs no read transaction.
  if (read.any.get(rid) === undefined) return Promise.resolve([]);
  const checked = read.transaction(rid);
  if (!checked.ok) throw damagedJournal(runName(db, rid), location, checked);
  return Promise.resolve(checked.entries);
}

/** A run's journal from seq `from`, with times, attempts and requests, every entry's checksum checked. */
export function readJournalRecords(db: Database.Database, stmt: Statements, location: string, rid: number, from: number): JournalRecord[] {
  const first = Math.max(1, from);
  const checked = checkJournalRecords(stmt.readJournalRecords.all(rid, first) as JournalRecordRow[], first);
  if (!checked.ok) throw damagedJournal(runName(db, rid), location, checked);
  return checked.records;
}

/** The id of run `rid`, for error messages. */
function runName(db: Database.Database, rid: number): string {
  const id = db.prepare("SELECT id FROM runs WHERE rid = ?").pluck().get(rid) as string | undefined;
  return id ?? `#${rid}`;
}

export type AppendTx = Database.Transaction<(l: Lease, es: readonly JournalEntry[], ls: readonly LogRecord[]) => void>;

/** The transaction of appendJournal (made once per store: it runs for every commit). */
export function appendTransaction(db: Database.Database, stmt: Statements, wide: WideInserts): AppendTx {
  return db.transaction((l: Lease, es: readonly JournalEntry[], ls: readonly LogRecord[]): void => {
    if (stmt.leaseToken.get(l.rid) !== l.token) throw new LeaseLost(l.runId);
    putEntries(db, stmt, wide, l.rid, l.attempt, es);
    for (const g of ls) stmt.putLog.run(l.rid, g.seq, g.stream, g.level, g.message, g.at);
  });
}

/**
 * Inserts entries with multi-row statements (128 and 16 rows a statement, then one by one): a
 * batch of buffered reads costs a few statement executions instead of one per entry.
 */
export function putEntries(
  db: Database.Database,
  stmt: Statements,
  wide: WideInserts,
  rid: number,
  attempt: number | null,
  entries: readonly JournalEntry[],
): void {
  let i = 0;
  for (const width of WIDE_INSERTS) {
    if (entries.length - i < width) continue;
    const insert = wideInsert(db, wide, width);
    const args = wide.args;
    args.length = width * JOURNAL_COLUMNS;
    for (; i + width <= entries.length; i += width) {
      for (let j = 0; j < width; j++) rowArgs(args, j * JOURNAL_COLUMNS, rid, attempt, entries[i + j]!);
      insert.run(args);
    }
    args.fill(null); // keep no payloads alive
  }
  const one = new Array<unknown>(JOURNAL_COLUMNS);
  for (; i < entries.length; i++) stmt.putEntry.run(rowArgs(one, 0, rid, attempt, entries[i]!));
}

/** The values of one journal row, written into `args` from `o` (in JOURNAL_INSERT's column order). */
function rowArgs(args: unknown[], o: number, rid: number, attempt: number | null, e: JournalEntry): unknown[] {
  args[o] = rid;
  args[o + 1] = e.seq;
  args[o + 2] = e.op;
  args[o + 3] = e.digest;
  args[o + 4] = e.state;
  args[o + 5] = e.payload;
  args[o + 6] = entryChecksum(e.seq, e.op, e.digest, e.state, e.payload);
  args[o + 7] = e.startedAt ?? null;
  args[o + 8] = e.endedAt ?? null;
  args[o + 9] = attempt;
  args[o + 10] = e.request ?? null;
  return args;
}

function wideInsert(db: Database.Database, wide: WideInserts, width: number): Database.Statement {
  let stmt = wide.stmts.get(width);
  if (!stmt) {
    stmt = db.prepare(`${JOURNAL_INSERT} VALUES ${Array<string>(width).fill(JOURNAL_ROW).join(", ")} ${JOURNAL_UPSERT}`);
    wide.stmts.set(width, stmt);
  }
  return stmt;
}

export function summarizeJournal(stmt: Statements, rid: number): JournalSummary {
  const rows = stmt.summary.all(rid) as { op: number; n: number; intents: number; bytes: number }[];
  const s: JournalSummary = { entries: 0, intents: 0, byOp: {}, bytes: 0 };
  for (const r of rows) {
    s.entries += r.n;
    s.intents += r.intents;
    s.bytes += r.bytes;
    s.byOp[opName(r.op)] = r.n;
  }
  return s;
}
