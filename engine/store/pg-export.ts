import { pack } from "msgpackr";
import { RunNotFound, RunStateError, StoreError } from "../kernel/errors.js";
import type { LogRecord } from "../journal/entry.js";
import { type Db, buf } from "./pg-connection.js";
import { type JournalRow, checkJournal, putEntries, putLogs } from "./pg-journal.js";
import { type RunRow, type SignalRow, toRecord, toSignal } from "./rows.js";
import type { ModuleKind, RunExport, RunRecord } from "./types.js";

// Moving a run between databases (docs/distributed.md): the bodies of exportRun's and importRun's transactions.

export async function exportRun(c: Db, location: string, runId: string): Promise<RunExport> {
  await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const row = (await c.query<RunRow>("SELECT * FROM runs WHERE id = $1", [runId])).rows[0];
  if (!row) throw new RunNotFound(runId);
  const mod = (await c.query<{ kind: ModuleKind; bytes: Buffer }>("SELECT kind, bytes FROM modules WHERE sha256 = $1", [row.module]))
    .rows[0];
  if (!mod) throw new StoreError(`run ${runId} pins module ${row.module}, which is missing from ${location}`);
  const journal = (
    await c.query<JournalRow>("SELECT seq, op, digest, state, payload, sum FROM journal WHERE rid = $1 ORDER BY seq", [row.rid])
  ).rows;
  const logs = (await c.query<LogRecord>("SELECT seq, stream, level, message, at FROM logs WHERE rid = $1 ORDER BY seq", [row.rid])).rows;
  const signals = (await c.query<SignalRow>("SELECT * FROM signals WHERE rid = $1 ORDER BY id", [row.rid])).rows.map(toSignal);
  const rec = toRecord(row);
  return {
    run: { ...rec, wakeRequested: row.wake_requested === 1, cancelRequested: row.cancel_requested === 1 },
    module: { sha256: row.module, kind: mod.kind, bytes: new Uint8Array(mod.bytes) },
    journal: checkJournal(row.id, location, journal),
    logs,
    signals,
  };
}

export async function importRun(c: Db, location: string, bundle: RunExport): Promise<RunRecord> {
  const r = bundle.run;
  if ((await c.query("SELECT 1 FROM runs WHERE id = $1", [r.id])).rowCount !== 0) {
    throw new RunStateError(`a run with id '${r.id}' already exists in ${location}; nothing was imported`);
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
      `INSERT INTO runs (id, module, entry, input, config, status, output, error, created_at, updated_at, finished_at,
           wake_at, attempts, parent_id, lease_owner, lease_expires, lease_token, wake_requested, cancel_requested, name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, $15, $16, $17, $18) RETURNING *`,
      [
        r.id,
        r.module,
        r.entry,
        buf(r.input),
        pack(r.config),
        r.status,
        r.output === null ? null : buf(r.output),
        r.error === null ? null : JSON.stringify(r.error),
        r.createdAt,
        Date.now(),
        r.finishedAt,
        r.wakeAt,
        r.attempts,
        r.parentId,
        r.leaseToken,
        r.wakeRequested ? 1 : 0,
        r.cancelRequested ? 1 : 0,
        r.name,
      ],
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
