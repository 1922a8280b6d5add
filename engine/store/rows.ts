import { unpack } from "msgpackr";
import { decodeRunConfig } from "./run-config.js";
import type {
  AttemptOutcome,
  CutLogs,
  AttemptRecord,
  RunConfig,
  RunError,
  RunRecord,
  RunStatus,
  ScheduleRecord,
  SignalRecord,
  UpgradeRecord,
} from "./types.js";

/** Rows as both stores read them (PostgreSQL's bigint columns are parsed to numbers), and their records. */
export interface RunRow {
  rid: number;
  id: string;
  module: string;
  name: string | null;
  entry: string;
  input: Buffer;
  config: Buffer;
  status: RunStatus;
  output: Buffer | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  wake_at: number | null;
  attempts: number;
  parent_id: string | null;
  lease_owner: string | null;
  lease_expires: number | null;
  lease_token: number;
  wake_requested: number;
  cancel_requested: number;
  /** PostgreSQL reads of a run (RUN_COLUMNS): the holder is a worker whose session ended. */
  holder_dead?: boolean | null;
}

export function toRecord(row: RunRow): RunRecord {
  const { config, problem } = decodeRunConfig(row.config);
  return {
    rid: row.rid,
    id: row.id,
    module: row.module,
    name: row.name ?? config.argv0 ?? null,
    entry: row.entry,
    input: new Uint8Array(row.input),
    config,
    ...(problem !== null && { configProblem: problem }),
    status: row.status,
    output: row.output === null ? null : new Uint8Array(row.output),
    error: row.error === null ? null : parseError(row.error),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    wakeAt: row.wake_at,
    wakeRequested: row.wake_requested === 1,
    attempts: row.attempts,
    parentId: row.parent_id,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires,
    leaseToken: row.lease_token,
    ...(row.holder_dead === true && { leaseHolderDead: true }),
  };
}

/** The stored error of a run; a damaged one is shown as such rather than failing the read. */
export function parseError(text: string): RunError {
  try {
    const e = JSON.parse(text) as { code?: unknown; message?: unknown; exitCode?: unknown } | null;
    if (e && typeof e.code === "string" && typeof e.message === "string") {
      const exit = Number.isSafeInteger(e.exitCode) ? { exitCode: e.exitCode as number } : {};
      return { code: e.code, message: e.message, ...exit };
    }
  } catch {
    // fall through
  }
  return { code: "unknown", message: `the stored error cannot be decoded: ${text.slice(0, 200)}` };
}

export interface SignalRow {
  id: number;
  rid: number;
  name: string;
  data: Buffer;
  sent_at: number;
  consumed_seq: number | null;
}

export function toSignal(r: SignalRow): SignalRecord {
  return { id: r.id, name: r.name, data: new Uint8Array(r.data), sentAt: r.sent_at, consumedSeq: r.consumed_seq };
}

export interface ScheduleRow {
  name: string;
  cron: string;
  tz: string | null;
  paused: number;
  module: string;
  entry: string;
  input: Buffer;
  config: Buffer;
  next_tick: number;
  last_tick: number | null;
  created_at: number;
}

export function toSchedule(r: ScheduleRow): ScheduleRecord {
  return {
    name: r.name,
    cron: r.cron,
    tz: r.tz,
    paused: r.paused === 1,
    module: r.module,
    entry: r.entry,
    input: new Uint8Array(r.input),
    config: unpack(r.config) as RunConfig,
    nextTick: r.next_tick,
    lastTick: r.last_tick,
    createdAt: r.created_at,
  };
}

export interface AttemptRow {
  number: number;
  owner: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  error: string | null;
}

const OUTCOMES: ReadonlySet<string> = new Set<AttemptOutcome>([
  "completed",
  "failed",
  "cancelled",
  "suspended",
  "released",
  "crashed",
  "terminated",
]);

export function toAttempt(r: AttemptRow): AttemptRecord {
  return {
    number: r.number,
    owner: r.owner,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    outcome: r.outcome !== null && OUTCOMES.has(r.outcome) ? (r.outcome as AttemptOutcome) : null,
    error: r.error === null ? null : parseError(r.error),
  };
}

export interface UpgradeRow {
  number: number;
  at: number;
  from_module: string;
  to_module: string;
  attempt: number | null;
}

export function toUpgrade(r: UpgradeRow): UpgradeRecord {
  return { number: r.number, at: r.at, fromModule: r.from_module, toModule: r.to_module, attempt: r.attempt };
}

/** A log line kept in `journal_cut`, with the retry that cut it. */
export interface CutLogRow {
  retry: number;
  seq: number;
  log_stream: string;
  log_level: string;
  log_message: string;
  log_at: number;
}

/** Each retry (`{number, from_seq}` rows, in order) with the log lines it cut. */
export function toCutLogs(retries: readonly { number: number; from_seq: number }[], rows: readonly CutLogRow[]): CutLogs[] {
  return retries.map((r) => ({
    retry: r.number,
    fromSeq: r.from_seq,
    lines: rows
      .filter((l) => l.retry === r.number)
      .map((l) => ({ seq: l.seq, stream: l.log_stream, level: l.log_level, message: l.log_message, at: l.log_at })),
  }));
}
