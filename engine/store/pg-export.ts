import { RunNotFound } from "../kernel/errors.js";
import type { LogRecord } from "../journal/entry.js";
import { type Db, buf } from "./pg-connection.js";
import { type JournalRow, journalRowValues, putEntries, putLogs } from "./pg-journal.js";
import { IMPORTED_RUN_COLUMNS, checkJournal, damagedJournal, importedRunValues, moduleMissing, runExistsIn } from "./rules.js";
import { type RunRow, type SignalRow, toRecord, toSignal } from "./rows.js";
import type { ModuleKind, RunExport, RunRecord } from "./types.js";

// Moving a run between databases (docs/distributed.md): the bodies of exportRun's and importRun's transactions.

export async function exportRun(c: Db, location: string, runId: string): Promise<RunExport> {
  await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const row = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1", [runId])).rows[0];
  if (!row) throw new RunNotFound(runId);
  const mod = (await c.query<{ kind: ModuleKind; bytes: Buffer }>("SELECT kind, bytes FROM modules WHERE sha256 = $1", [row.module]))
    .rows[0];
  if (!mod) throw moduleMissing(runId, row.module, location);
  const journal = (
    await c.query<JournalRow>("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = $1 ORDER BY seq", [row.rid])
  ).rows;
  const logs = (await c.query<LogRecord>("SELECT seq, stream, level, message, at FROM logs WHERE rid = $1 ORDER BY seq", [row.rid])).rows;
  const signals = (await c.query<SignalRow>("SELECT * FROM signals WHERE rid = $1 ORDER BY id", [row.rid])).rows.map(toSignal);
  const rec = toRecord(row);
  const checked = checkJournal(journal.map(journalRowValues));
  if (!checked.ok) throw damagedJournal(row.id, location, checked);
  return {
    run: { ...rec, wakeRequested: row.wake_requested === 1, cancelRequested: row.cancel_requested === 1 },
    module: { sha256: row.module, kind: mod.kind, bytes: new Uint8Array(mod.bytes) },
    journal: checked.entries,
    logs,
    signals,
  };
}

export async function importRun(c: Db, location: string, bundle: RunExport): Promise<RunRecord> {
  const r = bundle.run;
  if ((await c.query("SELECT 1 FROM runs WHERE id = $1", [r.id])).rowCount !== 0) {
    throw runExistsIn(r.id, location);
  }
  const m = bundle.module;
  await c.query("INSERT INTO modules (sha256, kind, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING", [
    m.sha256,
    m.kind,
    m.bytes.length,
    buf(m.bytes),
    Date.now(),
  ]);
  const row = (
    await c.query<RunRow>(
      `INSERT INTO runs (${IMPORTED_RUN_COLUMNS.join(", ")}) VALUES (${IMPORTED_RUN_COLUMNS.map((_c, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
      importedRunValues(r, Date.now()).map((v) => (v instanceof Uint8Array ? buf(v) : v)),
    )
  ).rows[0]!;
  if (bundle.journal.length > 0) await putEntries(c, row.rid, bundle.journal);
  if (bundle.logs.length > 0) await putLogs(c, row.rid, bundle.logs);
  for (const s of bundle.signals) {
    await c.query("INSERT INTO signals (rid, name, data, sent_at, consumed_seq) VALUES ($1, $2, $3, $4, $5)", [
      row.rid,
      s.name,
      buf(s.data),
      s.sentAt,
      s.consumedSeq,
    ]);
  }
  return toRecord(row);
}
