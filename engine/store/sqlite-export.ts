import type Database from "better-sqlite3";
import { RunNotFound } from "../kernel/errors.js";
import type { JournalEntry, LogRecord } from "../journal/entry.js";
import { NEXT_RID } from "./sqlite-purge.js";
import { type RunRow, type SignalRow, toRecord, toSignal } from "./rows.js";
import { putEntries, readJournal, wideInserts } from "./sqlite-journal.js";
import type { JournalReadStatements } from "./sqlite-journal-read.js";
import { IMPORTED_RUN_COLUMNS, importedRunValues, moduleMissing, runExistsIn } from "./rules.js";
import { type Statements, mustGet } from "./sqlite-statements.js";
import type { ModuleKind, RunExport, RunRecord } from "./types.js";

// Moving a run between databases (docs/distributed.md): a run with its module, journal, logs and signals.

export function exportRun(
  db: Database.Database,
  stmt: Statements,
  read: JournalReadStatements,
  location: string,
  runId: string,
): Promise<RunExport> {
  // One read transaction: the run, its journal, logs and signals as of one moment.
  const snapshot = db.transaction((): { row: RunRow; journal: Promise<JournalEntry[]>; logs: LogRecord[]; signals: SignalRow[] } => {
    const row = db.prepare("SELECT * FROM runs WHERE id = ?").get(runId) as
      (RunRow & { wake_requested: number; cancel_requested: number }) | undefined;
    if (!row) throw new RunNotFound(runId);
    return {
      row,
      journal: readJournal(db, read, location, row.rid),
      logs: stmt.readLogs.all(row.rid) as LogRecord[],
      signals: stmt.listSignals.all(row.rid) as SignalRow[],
    };
  });
  return (async () => {
    const snap = snapshot.deferred();
    const row = snap.row as RunRow & { wake_requested: number; cancel_requested: number };
    const mod = stmt.getModule.get(row.module) as { kind: ModuleKind; bytes: Buffer } | undefined;
    if (!mod) throw moduleMissing(runId, row.module, location);
    const { rid: _rid, ...run } = toRecord(row);
    return {
      run: { ...run, wakeRequested: row.wake_requested === 1, cancelRequested: row.cancel_requested === 1 },
      module: { sha256: row.module, kind: mod.kind, bytes: new Uint8Array(mod.bytes) },
      journal: await snap.journal,
      logs: snap.logs,
      signals: snap.signals.map(toSignal),
    };
  })();
}

export function importRun(db: Database.Database, stmt: Statements, location: string, bundle: RunExport): RunRecord {
  const put = db.transaction((): RunRecord => {
    const r = bundle.run;
    if (stmt.getRun.get(r.id)) throw runExistsIn(r.id, location);
    const m = bundle.module;
    stmt.putModule.run(m.sha256, m.kind, m.bytes.length, m.bytes, Date.now());
    const insert = db.prepare(
      `INSERT INTO runs (rid, ${IMPORTED_RUN_COLUMNS.join(", ")}) VALUES (${NEXT_RID}, ${IMPORTED_RUN_COLUMNS.map(() => "?").join(", ")})`,
    );
    const rid = Number(insert.run(importedRunValues(r, Date.now())).lastInsertRowid);
    // The attempts that wrote the entries are the source database's: imported entries name none.
    putEntries(db, stmt, wideInserts(), rid, null, bundle.journal);
    for (const l of bundle.logs) stmt.putLog.run(rid, l.seq, l.stream, l.level, l.message, l.at);
    const sig = db.prepare("INSERT INTO signals (rid, name, data, sent_at, consumed_seq) VALUES (?, ?, ?, ?, ?)");
    for (const g of bundle.signals) sig.run(rid, g.name, g.data, g.sentAt, g.consumedSeq);
    return mustGet(stmt, r.id);
  });
  return put.immediate();
}
