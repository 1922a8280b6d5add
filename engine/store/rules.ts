import { pack } from "msgpackr";
import { CorruptJournal, RunNotFound, RunStateError, StoreError, UsageError } from "../kernel/errors.js";
import type { EntryState, JournalEntry, JournalRecord } from "../journal/entry.js";
import { entryChecksum } from "../journal/hash.js";
import { opName } from "../kernel/ops.js";
import { parseError } from "./rows.js";
import {
  type AttemptOutcome,
  type CancelOutcome,
  type TerminateOutcome,
  type RunEnd,
  type RetryRecord,
  type RunExport,
  type RunRecord,
  type RunStatus,
  RUN_TRANSITIONS,
} from "./types.js";

// The rules both stores follow, as pure functions: each backend (sqlite-*.ts, pg-*.ts) only runs
// the SQL that reads what they need and writes what they decide.

// ---- the journal ----

/** A journal row as read: seq, op, digest, state, payload, sum. */
export type JournalRowValues = readonly [seq: number, op: number, digest: number, state: number, payload: Uint8Array, sum: number];

/** A run's journal rows in seq order, checked: its entries, or the first thing wrong with them and the seq where. */
export type JournalCheck = { ok: true; entries: JournalEntry[] } | { ok: false; problem: string; seq: number };

/** A journal is intact when its seqs run from 1 without a gap and every row passes its checksum. */
export function checkJournal(rows: readonly JournalRowValues[]): JournalCheck {
  const entries: JournalEntry[] = new Array<JournalEntry>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [seq, op, digest, state, payload, sum] = rows[i]!;
    const problem = journalRowProblem(i + 1, seq, op, digest, state, payload, sum);
    if (problem !== null) return { ok: false, problem, seq: i + 1 };
    entries[i] = { seq, op, digest, state: state as EntryState, payload };
  }
  return { ok: true, entries };
}

/** What is wrong with the journal row expected at seq `expected`, or null. */
export function journalRowProblem(
  expected: number,
  seq: number,
  op: number,
  digest: number,
  state: number,
  payload: Uint8Array,
  sum: number,
) {
  if (seq !== expected) return `the journal has a gap (expected seq ${expected}, found seq ${seq})`;
  if (entryChecksum(seq, op, digest, state, payload) !== sum) return `journal entry seq ${seq} (${opName(op)}) fails its checksum`;
  return null;
}

/** A journal row with its times, attempt and request (readJournalRecords). */
export type JournalRecordRow = readonly [
  ...JournalRowValues,
  startedAt: number | null,
  endedAt: number | null,
  attempt: number | null,
  request: Uint8Array | null,
];

/** The rows of a journal from seq `first` on, checked as checkJournal checks a whole journal. */
export function checkJournalRecords(
  rows: readonly JournalRecordRow[],
  first: number,
): { ok: true; records: JournalRecord[] } | { ok: false; problem: string; seq: number } {
  const records: JournalRecord[] = new Array<JournalRecord>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [seq, op, digest, state, payload, sum, startedAt, endedAt, attempt, request] = rows[i]!;
    const problem = journalRowProblem(first + i, seq, op, digest, state, payload, sum);
    if (problem !== null) return { ok: false, problem, seq: first + i };
    records[i] = {
      seq,
      op,
      digest,
      state: state as EntryState,
      payload: new Uint8Array(payload),
      startedAt,
      endedAt,
      attempt,
      request: request === null ? null : new Uint8Array(request),
    };
  }
  return { ok: true, records };
}

/** The error for a journal `checkJournal` found damaged (`run`: its id, or #rid when unknown), naming the seq. */
export function damagedJournal(run: string, location: string, check: { problem: string; seq: number }): CorruptJournal {
  return new CorruptJournal(
    `run ${run}: ${check.problem}: the database ${location} was damaged; nothing was run or changed. Restore the database from a backup`,
    check.seq,
  );
}

// ---- a run's end ----

/** The columns `finishRun` writes for an end, under the lease's fence. */
export interface EndColumns {
  status: RunStatus;
  output: Uint8Array | null;
  /** The stored error, as JSON. */
  error: string | null;
  wakeAt: number | null;
  finishedAt: number | null;
  /** Subtracted from `attempts`: a clean give-back undoes the claim's count; a crashed attempt happened, so it counts. */
  undo: 0 | 1;
  /** Whether `crashes` grows by one (the attempt crashed outside guest code); otherwise it is reset to 0. */
  crashed: boolean;
  /** The run ended for good: its parent is woken. */
  terminal: boolean;
  /** What the attempt's row in `attempts` records as its outcome (its error is `error`). */
  outcome: AttemptOutcome;
}

export function endColumns(end: RunEnd, now: number): EndColumns {
  const terminal = end.status === "completed" || end.status === "failed" || end.status === "cancelled";
  return {
    status: end.status === "released" ? end.previous : end.status,
    output: end.status === "completed" ? end.output : null,
    error: end.status === "failed" || end.status === "cancelled" ? JSON.stringify(end.error) : null,
    wakeAt: end.status === "suspended" || end.status === "released" ? end.wakeAt : null,
    finishedAt: terminal ? now : null,
    undo: end.status === "released" && end.crashed !== true ? 1 : 0,
    outcome: end.status === "released" && end.crashed === true ? "crashed" : end.status,
    crashed: end.status === "released" && end.crashed === true,
    terminal,
  };
}

// ---- cancellation ----

/** The error stored on a run cancelled before it could stop itself (not executing, or not yet claimed). */
export const CANCELLED_ERROR = JSON.stringify({ code: "cancelled", message: "the run was cancelled (dwe cancel)" });

/** What `dwe cancel` does to a run's family: runs ended at once, runs asked to stop (executing under a live lease). */
export interface CancelPlan {
  outcome: CancelOutcome;
  /** rids to end as cancelled now (CANCELLED_ERROR), waking their parents. */
  cancel: number[];
  /** rids to flag with cancel_requested: their executors stop them at their next host call. */
  ask: number[];
}

/**
 * The cancellation walk: `family` is the run `runId` and its descendants, in any order; they are
 * walked parents first (by rid), ended runs skipped. Refuses a missing or ended root.
 */
export function planCancel(runId: string, family: readonly RunRecord[], now: number): CancelPlan {
  const root = family.find((r) => r.id === runId);
  if (!root) throw new RunNotFound(runId);
  if (RUN_TRANSITIONS[root.status].length === 0) {
    throw new RunStateError(`run ${runId} is already ${root.status}; only a pending, running or suspended run can be cancelled`);
  }
  const plan: CancelPlan = { outcome: { cancelled: [], requested: [] }, cancel: [], ask: [] };
  for (const r of [...family].sort((a, b) => a.rid - b.rid)) {
    if (RUN_TRANSITIONS[r.status].length === 0) continue;
    if (r.status === "running" && r.leaseExpiresAt !== null && r.leaseExpiresAt > now) {
      plan.ask.push(r.rid);
      plan.outcome.requested.push(r.id);
    } else {
      plan.cancel.push(r.rid);
      plan.outcome.cancelled.push(r.id);
    }
  }
  return plan;
}

// ---- termination ----

/** The error stored on a run ended by `dwe terminate`: cancelled, with "terminated" as the reason. */
export const TERMINATED_ERROR = JSON.stringify({ code: "terminated", message: "the run was terminated (dwe terminate)" });

/** What `dwe terminate` does to a run's family: every run not yet final ends now, whoever holds it. */
export interface TerminatePlan {
  outcome: TerminateOutcome;
  /** rids to end as cancelled now (TERMINATED_ERROR, lease token bumped, open attempt ended), waking their parents. */
  terminate: number[];
}

/**
 * The termination walk: like the cancellation walk (parents first, ended runs skipped, a missing or
 * ended root refused), but a run under a live lease is ended too: its holder's later writes are
 * fenced by the bumped lease token, and it stops the run's guest when its heartbeat sees the lease gone.
 */
export function planTerminate(runId: string, family: readonly RunRecord[]): TerminatePlan {
  const root = family.find((r) => r.id === runId);
  if (!root) throw new RunNotFound(runId);
  if (RUN_TRANSITIONS[root.status].length === 0) {
    throw new RunStateError(`run ${runId} is already ${root.status}; only a pending, running or suspended run can be terminated`);
  }
  const plan: TerminatePlan = { outcome: { terminated: [] }, terminate: [] };
  for (const r of [...family].sort((a, b) => a.rid - b.rid)) {
    if (RUN_TRANSITIONS[r.status].length === 0) continue;
    plan.terminate.push(r.rid);
    plan.outcome.terminated.push(r.id);
  }
  return plan;
}

// ---- retry ----

/**
 * `retryRun`: only a failed run is retried (a cancelled one was stopped on purpose: fork it; a
 * completed one has nothing to retry; one not ended is resumed), from a seq in 1 … entries + 1.
 */
export function checkRetry(runId: string, status: RunStatus | undefined, entries: number, from: number): void {
  if (status === undefined) throw new RunNotFound(runId);
  if (status === "completed")
    throw new RunStateError(
      `run ${runId} is completed; there is nothing to retry (start it again with \`dwe run\`, or \`dwe fork ${runId}\`)`,
    );
  if (status === "cancelled")
    throw new RunStateError(`run ${runId} was cancelled; only a failed run is retried (\`dwe fork ${runId}\` starts a copy)`);
  if (status !== "failed") throw new RunStateError(`run ${runId} is ${status}, not failed; continue it with \`dwe resume ${runId}\``);
  if (!Number.isSafeInteger(from) || from < 1 || from > entries + 1) {
    throw new UsageError(
      `bad --from '${String(from)}': run ${runId} has ${entries} journal entr${entries === 1 ? "y" : "ies"}; retry from 1…${entries + 1}` +
        ` (${entries + 1}: cut nothing)`,
    );
  }
}

/** A `retries` row as both stores read it. */
export interface RetryRow {
  number: number;
  at: number;
  from_seq: number;
  after_attempt: number;
  error: string | null;
}

/** A run's retries with the rows each cut (`cut`: [retry, ...JournalRecordRow], any order), checked as a journal is. */
export function retryRecords(
  retries: readonly RetryRow[],
  cut: readonly (readonly [retry: number, ...JournalRecordRow])[],
  damaged: (check: { problem: string; seq: number }) => Error,
): RetryRecord[] {
  return retries.map((r) => {
    const rows = cut
      .filter((c) => c[0] === r.number)
      .map((c) => c.slice(1) as unknown as JournalRecordRow)
      .sort((a, b) => a[0] - b[0]);
    const checked = checkJournalRecords(rows, r.from_seq);
    if (!checked.ok) throw damaged(checked);
    return {
      number: r.number,
      at: r.at,
      fromSeq: r.from_seq,
      afterAttempt: r.after_attempt,
      error: r.error === null ? null : parseError(r.error),
      entries: checked.records,
    };
  });
}

// ---- import ----

/** The columns of a run inserted by `importRun`, in the order of `importedRunValues`. */
export const IMPORTED_RUN_COLUMNS = [
  "id",
  "module",
  "entry",
  "input",
  "config",
  "status",
  "output",
  "error",
  "created_at",
  "updated_at",
  "finished_at",
  "wake_at",
  "attempts",
  "parent_id",
  "lease_owner",
  "lease_expires",
  "lease_token",
  "wake_requested",
  "cancel_requested",
  "name",
] as const;

/** The row of an imported run: held by no one (its lease token kept, so old fences stay stale), updated now. */
export function importedRunValues(r: RunExport["run"], now: number): (string | number | Uint8Array | null)[] {
  return [
    r.id,
    r.module,
    r.entry,
    r.input,
    pack(r.config),
    r.status,
    r.output,
    r.error === null ? null : JSON.stringify(r.error),
    r.createdAt,
    now,
    r.finishedAt,
    r.wakeAt,
    r.attempts,
    r.parentId,
    null,
    null,
    r.leaseToken,
    r.wakeRequested ? 1 : 0,
    r.cancelRequested ? 1 : 0,
    r.name,
  ];
}

// ---- refusals ----

/** `createRun` of an id that is taken. */
export function runExists(id: string): RunStateError {
  return new RunStateError(`a run with id '${id}' already exists; pick another --id or resume it with \`dwe resume ${id}\``);
}

/** `importRun` of a run whose id is taken in this database. */
export function runExistsIn(id: string, location: string): RunStateError {
  return new RunStateError(`a run with id '${id}' already exists in ${location}; nothing was imported`);
}

/** `addSchedule` of a name that is taken. */
export function scheduleExists(name: string): RunStateError {
  return new RunStateError(`a schedule named '${name}' already exists; remove it first with \`dwe schedule remove ${name}\``);
}

/** `exportRun` of a run whose module is not in the database. */
export function moduleMissing(runId: string, module: string, location: string): StoreError {
  return new StoreError(`run ${runId} pins module ${module}, which is missing from ${location}`);
}

// ---- signals and children ----

/** `sendSignal`: a run takes signals until it has ended. */
export function checkSignalable(runId: string, status: RunStatus): void {
  if (RUN_TRANSITIONS[status].length === 0) {
    throw new RunStateError(`run ${runId} is ${status}; signals can only be sent to a run that has not ended`);
  }
}

/**
 * `createChild` of an id that exists: the same child asked for again (the parent replayed after a
 * crash) is the existing run; a run that is not the parent's child is refused.
 */
export function checkExistingChild(childId: string, existingParent: string | null, parentId: string): void {
  if (existingParent !== parentId) throw new RunStateError(`run id '${childId}' is taken by a run that is not a child of ${parentId}`);
}

/** The rows of `SELECT status, COUNT(*) … GROUP BY status`, keyed by status (`countRuns`). */
export function countsOf(rows: readonly { status: RunStatus; n: number }[]): Partial<Record<RunStatus, number>> {
  const counts: Partial<Record<RunStatus, number>> = {};
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}
