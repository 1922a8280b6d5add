import type { JournalEntry, JournalRecord, LogRecord } from "../journal/entry.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../kernel/ops.js";
import { type Db, type Query, buf } from "./pg-connection.js";
import { type JournalRowValues, checkJournal, checkJournalRecords, damagedJournal } from "./rules.js";
import type { JournalSummary } from "./types.js";

// The journal and logs: reading with checksum checks, bulk inserts for import (appends: pg-commit-group.ts).

/** A completion (the same seq as its intent) keeps the intent's start and request when it brings none. */
export const JOURNAL_UPSERT = `ON CONFLICT (rid, seq) DO UPDATE SET op = EXCLUDED.op, digest = EXCLUDED.digest, state = EXCLUDED.state,
  payload = EXCLUDED.payload, sum = EXCLUDED.sum, started_at = COALESCE(EXCLUDED.started_at, journal.started_at),
  ended_at = EXCLUDED.ended_at, attempt = EXCLUDED.attempt, request = COALESCE(EXCLUDED.request, journal.request)`;

export type JournalRow = { seq: number; op: number; digest: number; state: number; payload: Buffer; sum: number };

export async function readJournal(q: Query, location: string, rid: number): Promise<JournalEntry[]> {
  const r = await q<JournalRow>("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = $1 ORDER BY seq", [rid]);
  const checked = checkJournal(r.rows.map(journalRowValues));
  if (checked.ok) return checked.entries;
  const id = (await q<{ id: string }>("SELECT id FROM runs WHERE rid = $1", [rid])).rows[0]?.id;
  throw damagedJournal(id ?? `#${rid}`, location, checked);
}

type JournalRecordRowPg = JournalRow & {
  started_at: number | null;
  ended_at: number | null;
  attempt: number | null;
  request: Buffer | null;
};

export async function readJournalRecords(q: Query, location: string, rid: number, from: number): Promise<JournalRecord[]> {
  const first = Math.max(1, from);
  const r = await q<JournalRecordRowPg>(
    `SELECT seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request FROM journal
       WHERE rid = $1 AND seq >= $2 ORDER BY seq`,
    [rid, first],
  );
  const checked = checkJournalRecords(
    r.rows.map((x) => [...journalRowValues(x), x.started_at, x.ended_at, x.attempt, x.request] as const),
    first,
  );
  if (checked.ok) return checked.records;
  const id = (await q<{ id: string }>("SELECT id FROM runs WHERE rid = $1", [rid])).rows[0]?.id;
  throw damagedJournal(id ?? `#${rid}`, location, checked);
}

export async function summarizeJournal(q: Query, rid: number): Promise<JournalSummary> {
  const r = await q<{ op: number; n: number; intents: number; bytes: number }>(
    `SELECT op, COUNT(*)::bigint AS n, COUNT(*) FILTER (WHERE state = 0)::bigint AS intents,
       COALESCE(SUM(length(payload) + COALESCE(length(request), 0)), 0)::bigint AS bytes FROM journal WHERE rid = $1 GROUP BY op`,
    [rid],
  );
  const s: JournalSummary = { entries: 0, intents: 0, byOp: {}, bytes: 0 };
  for (const row of r.rows) {
    s.entries += row.n;
    s.intents += row.intents;
    s.bytes += row.bytes;
    s.byOp[opName(row.op)] = row.n;
  }
  return s;
}

/** Inserts (or completes intents of) journal rows in one statement. */
export async function putEntries(c: Db, rid: number, entries: readonly JournalEntry[]): Promise<void> {
  // The attempts that wrote imported entries are the source database's: they name none here.
  await c.query(
    `INSERT INTO journal (rid, seq, op, digest, state, payload, sum, started_at, ended_at, request)
     SELECT $1, * FROM unnest($2::int[], $3::int[], $4::bigint[], $5::smallint[], $6::bytea[], $7::bigint[], $8::bigint[],
       $9::bigint[], $10::bytea[])
     ${JOURNAL_UPSERT}`,
    [
      rid,
      entries.map((e) => e.seq),
      entries.map((e) => e.op),
      entries.map((e) => e.digest),
      entries.map((e) => e.state),
      entries.map((e) => buf(e.payload)),
      entries.map((e) => entryChecksum(e.seq, e.op, e.digest, e.state, e.payload)),
      entries.map((e) => e.startedAt ?? null),
      entries.map((e) => e.endedAt ?? null),
      entries.map((e) => (e.request === undefined ? null : buf(e.request))),
    ],
  );
}

export async function putLogs(c: Db, rid: number, logs: readonly LogRecord[]): Promise<void> {
  await c.query(
    `INSERT INTO logs (rid, seq, stream, level, message, at)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::bigint[])
     ON CONFLICT (rid, seq) DO UPDATE SET stream = EXCLUDED.stream, level = EXCLUDED.level, message = EXCLUDED.message, at = EXCLUDED.at`,
    [rid, logs.map((l) => l.seq), logs.map((l) => l.stream), logs.map((l) => l.level), logs.map((l) => l.message), logs.map((l) => l.at)],
  );
}

/** A journal row as `checkJournal` takes it. */
export function journalRowValues(r: JournalRow): JournalRowValues {
  return [r.seq, r.op, r.digest, r.state, r.payload, r.sum];
}
