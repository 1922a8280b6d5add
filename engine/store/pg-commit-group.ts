import { LeaseLost } from "../kernel/errors.js";
import { entryChecksum } from "../journal/hash.js";
import { type GroupWrite, layers } from "./commit-group.js";
import { type Query, RETRY, buf } from "./pg-connection.js";
import { JOURNAL_UPSERT } from "./pg-journal.js";
import { endColumns } from "./rules.js";

type Append = Extract<GroupWrite, { kind: "append" }>;
type Finish = Extract<GroupWrite, { kind: "finish" }>;

/**
 * The PostgreSQL store's group flush: per layer (each run at most once, commit-group.ts) one
 * statement for all the appends and one for all the finishes, each its own transaction (one round
 * trip, one WAL flush). Each statement is fenced per run: a run whose token moved on writes
 * nothing and gets LeaseLost, the others commit. A statement that fails fails its writes and
 * every later one (their order is kept: they are not written after it).
 */
export async function flushGroup(q: Query, writes: readonly GroupWrite[]): Promise<unknown[]> {
  const out = new Array<unknown>(writes.length).fill(null);
  const parts: number[][] = [];
  for (const layer of layers(writes)) {
    const appends = layer.filter((i) => writes[i]!.kind === "append");
    const finishes = layer.filter((i) => writes[i]!.kind === "finish");
    if (appends.length > 0) parts.push(appends);
    if (finishes.length > 0) parts.push(finishes);
  }
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const first = writes[part[0]!]!;
    try {
      const written =
        first.kind === "append"
          ? await appendMany(
              q,
              part.map((i) => writes[i] as Append),
            )
          : await finishMany(
              q,
              part.map((i) => writes[i] as Finish),
            );
      for (const i of part) if (!written.has(writes[i]!.lease.rid)) out[i] = new LeaseLost(writes[i]!.lease.runId);
    } catch (err) {
      for (const later of parts.slice(p)) for (const i of later) out[i] = err;
      break;
    }
  }
  return out;
}

/** Runs a statement again after a deadlock (rows of many runs are locked in one statement; it was rolled back). */
async function again<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      if (code === undefined || !RETRY.has(code) || attempt >= 5) throw err;
    }
  }
}

/** The appends of many runs in one statement: the rids whose lease still held (their rows were written). */
async function appendMany(q: Query, ws: readonly Append[]): Promise<Set<number>> {
  const entries = ws.flatMap((w) => w.entries.map((e) => ({ w, e })));
  const logs = ws.flatMap((w) => w.logs.map((l) => ({ w, l })));
  // The fence locks the runs' rows (in rid order, so two groups cannot deadlock each other) only
  // where the token still matches; both inserts take their runs from it, so a stale lease inserts
  // nothing. (A claim holding a row is waited for, then the token is checked again.)
  const sql = `WITH l AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS l(rid, token)),
       fence AS (SELECT r.rid FROM runs r JOIN l ON r.rid = l.rid AND r.lease_token = l.token ORDER BY r.rid FOR UPDATE OF r),
       e AS (
         INSERT INTO journal (rid, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request)
         SELECT u.rid, u.seq, u.op, u.digest, u.state, u.payload, u.sum, u.started_at, u.ended_at, u.attempt, u.request
         FROM unnest($3::bigint[], $4::int[], $5::int[], $6::bigint[], $7::smallint[], $8::bytea[], $9::bigint[], $10::bigint[],
           $11::bigint[], $12::int[], $13::bytea[]) AS u(rid, seq, op, digest, state, payload, sum, started_at, ended_at, attempt, request)
         WHERE u.rid IN (SELECT rid FROM fence)
         ${JOURNAL_UPSERT}
         RETURNING 1),
       g AS (
         INSERT INTO logs (rid, seq, stream, level, message, at)
         SELECT u.rid, u.seq, u.stream, u.level, u.message, u.at
         FROM unnest($14::bigint[], $15::int[], $16::text[], $17::text[], $18::text[], $19::bigint[]) AS u(rid, seq, stream, level, message, at)
         WHERE u.rid IN (SELECT rid FROM fence)
         ON CONFLICT (rid, seq) DO UPDATE SET stream = EXCLUDED.stream, level = EXCLUDED.level, message = EXCLUDED.message, at = EXCLUDED.at
         RETURNING 1)
       SELECT rid FROM fence`;
  const params = [
    ws.map((w) => w.lease.rid),
    ws.map((w) => w.lease.token),
    entries.map((x) => x.w.lease.rid),
    entries.map((x) => x.e.seq),
    entries.map((x) => x.e.op),
    entries.map((x) => x.e.digest),
    entries.map((x) => x.e.state),
    entries.map((x) => buf(x.e.payload)),
    entries.map((x) => entryChecksum(x.e.seq, x.e.op, x.e.digest, x.e.state, x.e.payload)),
    entries.map((x) => x.e.startedAt ?? null),
    entries.map((x) => x.e.endedAt ?? null),
    entries.map((x) => x.w.lease.attempt),
    entries.map((x) => (x.e.request === undefined ? null : buf(x.e.request))),
    logs.map((x) => x.w.lease.rid),
    logs.map((x) => x.l.seq),
    logs.map((x) => x.l.stream),
    logs.map((x) => x.l.level),
    logs.map((x) => x.l.message),
    logs.map((x) => x.l.at),
  ];
  // Writing the same rows again under the same tokens changes nothing: safe to repeat after a lost connection.
  const r = await again(() => q<{ rid: number }>(sql, params, true));
  return new Set(r.rows.map((row) => row.rid));
}

/** The ends of many attempts in one statement (pg-claims.ts finishRun for each): the rids whose lease still held. */
async function finishMany(q: Query, ws: readonly Finish[]): Promise<Set<number>> {
  const now = Date.now();
  const cs = ws.map((w) => endColumns(w.end, now));
  // A lease ends once: after its end was written (lease_owner NULL) a second write with the same
  // token is refused. A parent ending in the same statement as its child is woken in its own update
  // (a row is updated once per statement); the others by `w`.
  const sql = `WITH i AS (
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bytea[], $5::text[], $6::bigint[], $7::bigint[], $8::int[],
           $9::boolean[], $10::boolean[], $11::text[], $12::int[])
           AS i(rid, token, status, output, error, wake_at, finished_at, undo, crashed, terminal, outcome, attempt)),
       woken AS (SELECT c.parent_id AS id FROM runs c JOIN i ON c.rid = i.rid AND c.lease_token = i.token WHERE i.terminal),
       f AS (
         UPDATE runs r SET status = i.status, output = i.output, error = i.error, wake_at = i.wake_at, finished_at = i.finished_at,
           lease_owner = NULL, lease_expires = NULL, attempts = r.attempts - i.undo, updated_at = $13,
           crashes = CASE WHEN i.crashed THEN r.crashes + 1 ELSE 0 END,
           wake_requested = CASE WHEN r.id IN (SELECT id FROM woken) THEN 1 ELSE r.wake_requested END
         FROM i WHERE r.rid = i.rid AND r.lease_token = i.token AND r.lease_owner IS NOT NULL RETURNING r.rid, r.parent_id, i.terminal),
       w AS (UPDATE runs SET wake_requested = 1
         WHERE id IN (SELECT parent_id FROM f WHERE terminal) AND rid NOT IN (SELECT rid FROM f)),
       a AS (UPDATE attempts t SET ended_at = $13, outcome = i.outcome, error = i.error
         FROM i WHERE t.rid = i.rid AND t.number = i.attempt AND i.rid IN (SELECT rid FROM f))
       SELECT rid FROM f`;
  const params = [
    ws.map((w) => w.lease.rid),
    ws.map((w) => w.lease.token),
    cs.map((c) => c.status),
    cs.map((c) => (c.output === null ? null : buf(c.output))),
    cs.map((c) => c.error),
    cs.map((c) => c.wakeAt),
    cs.map((c) => c.finishedAt),
    cs.map((c) => c.undo),
    cs.map((c) => c.crashed),
    cs.map((c) => c.terminal),
    cs.map((c) => c.outcome),
    ws.map((w) => w.lease.attempt),
    now,
  ];
  const r = await again(() => q<{ rid: number }>(sql, params));
  return new Set(r.rows.map((row) => row.rid));
}
