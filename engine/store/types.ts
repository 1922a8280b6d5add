import type { JournalEntry, JournalRecord, LogRecord } from "../journal/entry.js";
import type { ChildLimits } from "./child-limits.js";
import type { Grants } from "../kernel/grants.js";

export const RUN_STATUSES = ["pending", "running", "suspended", "completed", "failed", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Allowed transitions of the run lifecycle; anything else is a bug or a race lost. */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  pending: ["running", "cancelled", "failed"],
  running: ["running", "suspended", "completed", "failed", "cancelled", "pending"],
  suspended: ["running", "cancelled", "failed"],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(status: RunStatus): boolean {
  return RUN_TRANSITIONS[status].length === 0;
}

export type ModuleKind = "core" | "component";

/** What a run was started with; pinned for its whole life. */
export interface RunConfig {
  grants: Grants;
  /** WASI argv after the program name. */
  args: string[];
  /** WASI environment (only what was passed with --env). */
  env: Record<string, string>;
  /** Wall-clock budget of an execution attempt's active time, in ms (null: none). */
  timeoutMs: number | null;
  /** Linear memory limit in bytes (null: the default limit). */
  maxMemoryBytes: number | null;
  /** Limits on the child runs of the run's tree (absent: DEFAULT_CHILD_LIMITS); children inherit them. */
  childLimits?: ChildLimits;
  /** Caps on the run's journal: entries, and payload bytes (absent or null: the defaults, journal-writer.ts). */
  maxJournalEntries?: number | null;
  maxJournalBytes?: number | null;
  /** WASI argv[0]: the module's file name (runs made before it was stored get `guest`). */
  argv0?: string;
  /** Set on a run made by `dwe fork`: the run it was forked from and how many of its journal entries it copied. */
  forkedFrom?: { run: string; seq: number };
}

/**
 * Why a run failed or was cancelled. `exitCode` is set when a WASI program ended itself with a
 * non-zero code (`proc_exit`, `wasi:cli/exit`): `dwe run` exits with it.
 */
export interface RunError {
  code: string;
  message: string;
  exitCode?: number;
}

export interface RunRecord {
  rid: number;
  id: string;
  /** sha256 (hex) of the module's bytes. */
  module: string;
  /**
   * What the run is called in listings: its module's file name or `--name`, a child's that of its
   * parent (runs made before names were stored: their argv0, or null).
   */
  name: string | null;
  entry: string;
  input: Uint8Array;
  config: RunConfig;
  /** Set when the stored config cannot be decoded (`config` is then a no-grants default): the run is failed, never executed. */
  configProblem?: string;
  status: RunStatus;
  output: Uint8Array | null;
  error: RunError | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  wakeAt: number | null;
  /** Something the run waits for arrived (a signal, a child's end): due now, whatever its wakeAt. */
  wakeRequested: boolean;
  attempts: number;
  parentId: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  leaseToken: number;
  /**
   * The store knows the lease holder is dead, whatever its lease says: on PostgreSQL, a `dwe worker`
   * whose database session ended (its advisory lock is free). Unset where the store cannot tell
   * (SQLite; a `dwe run` or `dwe resume` holder): then only its pid, on its own host, can say.
   */
  leaseHolderDead?: true;
}

export interface NewRun {
  id: string;
  module: string;
  /** Absent or null: the parent's name for a child run, else none. */
  name?: string | null;
  entry: string;
  input: Uint8Array;
  config: RunConfig;
  parentId: string | null;
  status: RunStatus;
}

/** Proof of ownership of a run: journal writes carrying a stale token are refused. */
/**
 * How hard a commit is pushed to disk (`--durability`): `process` survives the process being killed,
 * `fsync` also power loss. A store option, not a backend's: SQLite maps it to `synchronous`.
 */
export type Durability = "process" | "fsync";

export interface Lease {
  runId: string;
  rid: number;
  owner: string;
  token: number;
  expiresAt: number;
  /** The number of the execution attempt the lease was taken for (its row in `listAttempts`); journal rows record it. */
  attempt: number;
}

/**
 * How an execution attempt ended, as `finishRun` wrote it: the run's new status, `released` (given
 * back as it was), `crashed` (given back after its executor thread died) or `terminated` (ended by
 * `dwe terminate` while it held the lease: its run is cancelled). An attempt with no
 * outcome never reached finishRun: its process died or lost its lease (a crash point).
 */
export type AttemptOutcome = "completed" | "failed" | "cancelled" | "suspended" | "released" | "crashed" | "terminated";

/** One execution attempt of a run: taken by `acquireLease` or `claimRuns`, ended by `finishRun`. */
export interface AttemptRecord {
  /** 1, 2, 3 … in the order the run's attempts started. */
  number: number;
  /** The lease holder (`worker:HOST:PID:…`, `run:HOST:PID`). */
  owner: string;
  startedAt: number;
  endedAt: number | null;
  outcome: AttemptOutcome | null;
  /** The error a failed or cancelled attempt ended the run with. */
  error: RunError | null;
}

/**
 * `retryRun`: where a failed run's journal is cut (entries from `from` on are moved aside, kept in
 * the run's retry history) before it is made pending again.
 */
export interface RunRetry {
  /** The first seq cut; the journal's length + 1 cuts nothing. */
  from: number;
  /** Grants that replace the stored ones in the same transaction (checked by the caller). */
  grants?: Grants;
}

/** The log lines one retry cut with their entries, as they were. */
export interface CutLogs {
  retry: number;
  /** The first seq cut: the attempts after the retry write the seqs from here again. */
  fromSeq: number;
  lines: LogRecord[];
}

/** One change of a run's module (`setRunModule`: `resume --upgrade`, `retry --upgrade`). */
export interface UpgradeRecord {
  /** 1, 2, 3 … in the order the run was upgraded. */
  number: number;
  at: number;
  /** sha256 of the module the run ran before, and of the one it runs since. */
  fromModule: string;
  toModule: string;
  /** The execution attempt that made the change. */
  attempt: number | null;
}

/** One retry of a run (`retryRun`), with the entries it cut, as they were. */
export interface RetryRecord {
  /** 1, 2, 3 … in the order the run was retried. */
  number: number;
  at: number;
  /** The first seq cut (the journal's length + 1 then, when nothing was cut). */
  fromSeq: number;
  /** The attempts the run had had when it was retried: the cut entries were written by these. */
  afterAttempt: number;
  /** The error the run had failed with. */
  error: RunError | null;
  /** The cut entries, in seq order from `fromSeq`, checksums checked. */
  entries: JournalRecord[];
}

export interface JournalSummary {
  entries: number;
  intents: number;
  byOp: Record<string, number>;
  bytes: number;
}

/**
 * Which runs `listRuns` returns, newest first (the children of `parentId` in the order they were
 * started). Every field narrows; times are epoch ms, `…After` inclusive and `…Before` exclusive.
 */
export interface RunFilter {
  status?: RunStatus | readonly RunStatus[];
  parentId?: string;
  /** The module's sha256, or a prefix of it. */
  module?: string;
  name?: string;
  entry?: string;
  createdAfter?: number;
  createdBefore?: number;
  finishedAfter?: number;
  finishedBefore?: number;
  /** The page after this run (the last one of the previous page), in the listing's order. */
  after?: { createdAt: number; rid: number };
  limit?: number;
}

export type RunEnd =
  | { status: "completed"; output: Uint8Array | null }
  | { status: "failed"; error: RunError }
  | { status: "cancelled"; error: RunError }
  | { status: "suspended"; wakeAt: number | null }
  /**
   * Gives the run back as it was before this attempt (a refused upgrade, a store error). `crashed`:
   * the attempt crashed outside guest code (its executor thread died), counted towards the
   * worker's --max-crashes; any other end of an attempt resets that count.
   */
  | { status: "released"; previous: RunStatus; wakeAt: number | null; crashed?: boolean };

/** A run taken by `claimRuns`: its new lease and what it was before (to give it back unchanged). */
export interface ClaimedRun {
  lease: Lease;
  previous: RunStatus;
  wakeAt: number | null;
  /** The run's --timeout (null: none), for the worker's watchdog. */
  timeoutMs: number | null;
  /** Attempts in a row before this one that crashed outside guest code (poison runs, docs/worker.md). */
  crashes: number;
  /** The run as the claim left it (running, under `lease`): its attempt need not read it again. */
  run: RunRecord;
}

/** Result of renewing one lease: whether it is still held, and whether cancellation was asked. */
export interface LeaseCheck {
  runId: string;
  held: boolean;
  cancelRequested: boolean;
}

/** What `requestCancel` did: runs cancelled at once (no live lease) and runs asked to stop. */
export interface CancelOutcome {
  cancelled: string[];
  requested: string[];
}

/** What `terminate` did: the runs it ended (the run and its descendants that were not final), parents first. */
export interface TerminateOutcome {
  terminated: string[];
}

/** A delivered external event (`dwe signal`). `id` orders all signals. */
export interface SignalRecord {
  id: number;
  name: string;
  data: Uint8Array;
  sentAt: number;
  consumedSeq: number | null;
}

export interface ScheduleRecord {
  name: string;
  cron: string;
  /** IANA time zone the cron expression is read in (null: UTC). */
  tz: string | null;
  /** A paused schedule fires no tick until it is resumed. */
  paused: boolean;
  module: string;
  entry: string;
  input: Uint8Array;
  config: RunConfig;
  nextTick: number;
  lastTick: number | null;
  createdAt: number;
}

/** A new schedule: not paused, in UTC unless `tz` is given. */
export type NewSchedule = Omit<ScheduleRecord, "lastTick" | "createdAt" | "paused" | "tz"> & { tz?: string | null };

/** What `updateSchedule` changes (absent fields are kept). */
export interface ScheduleChange {
  cron?: string;
  tz?: string | null;
  input?: Uint8Array;
  paused?: boolean;
  nextTick?: number;
}

/**
 * Everything needed to continue a run in another database (`dwe export` / `dwe import`): the run's
 * row (without its lease, which belongs to the source database), its pinned module, its journal,
 * logs and signals. The file format around it is engine/portable/run-file.ts.
 */
export interface RunExport {
  run: Omit<RunRecord, "rid"> & { wakeRequested: boolean; cancelRequested: boolean };
  module: { sha256: string; kind: ModuleKind; bytes: Uint8Array };
  journal: JournalEntry[];
  logs: LogRecord[];
  signals: SignalRecord[];
}

/** What a worker's session tells the worker (PostgreSQL; see pg-worker-session.ts). */
export interface WorkerEvents {
  /** Something may have become claimable (a new run, a signal): claim now, not at the next poll. */
  onWake(): void;
  /** The session is gone while the worker lives: other workers may take its runs at once. */
  onLost(): void;
  /** The session is back (a new connection holds the worker's lock again). */
  onRestored(): void;
}

/** A worker's presence in the store, ended by `close` (graceful stop) or by its process dying. */
export interface WorkerSession {
  close(): Promise<void>;
}

/**
 * The store: modules, runs, journals and logs. One interface, implemented on SQLite (default)
 * and PostgreSQL; both pass test/store-conformance.test.ts.
 */
export interface Store {
  readonly location: string;
  close(): Promise<void>;

  putModule(sha256: string, kind: ModuleKind, bytes: Uint8Array): Promise<void>;
  getModule(sha256: string): Promise<{ kind: ModuleKind; bytes: Uint8Array } | undefined>;
  putArtifact(sha256: string, kind: string, bytes: Uint8Array): Promise<void>;
  getArtifact(sha256: string, kind: string): Promise<Uint8Array | undefined>;

  createRun(run: NewRun): Promise<RunRecord>;
  /**
   * `createRun` and `acquireLease` in one transaction: the run exists only under `owner`'s lease, so
   * no worker can claim it between the two (`dwe run`, `Dwe.start` executing in this process).
   */
  createLeasedRun(run: NewRun, owner: string, ttlMs: number): Promise<Lease>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(filter: RunFilter): Promise<RunRecord[]>;
  /** How many runs the store holds in each status (a status with none is absent). */
  countRuns(): Promise<Partial<Record<RunStatus, number>>>;
  /**
   * Replaces the module of a run (upgrade after a clean replay check) and records the change in
   * its upgrades (`listUpgrades`; setting the module it already has records nothing). Requires the lease.
   */
  setRunModule(lease: Lease, sha256: string): Promise<void>;
  /** The run's module changes, oldest first (none for upgrades made before dwe recorded them). */
  listUpgrades(rid: number): Promise<UpgradeRecord[]>;
  /** Replaces the grants of a run (`dwe resume` with grant flags, checked by the caller). Requires the lease. */
  setRunGrants(lease: Lease, grants: Grants): Promise<void>;

  /**
   * Takes the run for execution: succeeds when no live lease is held (or `steal` is true) and the run
   * is not terminal. Increments the fencing token and sets status running.
   */
  acquireLease(runId: string, owner: string, ttlMs: number, steal: boolean): Promise<Lease>;
  renewLease(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Ends an execution attempt: writes the run's new state and drops the lease, if still held. */
  finishRun(lease: Lease, end: RunEnd): Promise<void>;

  readJournal(rid: number): Promise<JournalEntry[]>;
  /** Appends (or completes intents of) journal entries with their logs in one transaction, fenced by the lease. */
  appendJournal(lease: Lease, entries: readonly JournalEntry[], logs: readonly LogRecord[]): Promise<void>;
  summarizeJournal(rid: number): Promise<JournalSummary>;
  /**
   * The journal from seq `from` (1: all of it), each entry with its times, attempt and request
   * (`dwe journal`); checksums checked as readJournal checks them.
   */
  readJournalRecords(rid: number, from: number): Promise<JournalRecord[]>;
  /** The run's execution attempts, oldest first (none for runs whose attempts predate the attempts table). */
  listAttempts(rid: number): Promise<AttemptRecord[]>;
  readLogs(rid: number): Promise<LogRecord[]>;
  /**
   * `dwe retry`: in one transaction, a failed run's journal entries from `retry.from` on (with their
   * log lines) are moved to its retry history, the signals they consumed are put back, and the run
   * is made pending (no error, output or end; grants replaced if given). RunNotFound, RunStateError
   * (not failed), UsageError (`from` outside 1 … length + 1): nothing written.
   */
  retryRun(runId: string, retry: RunRetry): Promise<RunRecord>;
  /** The run's retries, oldest first, each with the entries it cut. */
  listRetries(rid: number): Promise<RetryRecord[]>;
  /** The run's retries, oldest first, each with the log lines it cut (by seq; `dwe logs --all`). */
  listCutLogs(rid: number): Promise<CutLogs[]>;

  // ---- workers (docs/worker.md) ----

  /**
   * Atomically takes up to `limit` runs that are due: pending, suspended with `wake_at <= now` or
   * a wake request (signal, child finished), or running under an expired lease. Each gets a new
   * lease (fencing token + 1) for `owner`. Runs with a pending cancel request are cancelled instead.
   * SQLite: one IMMEDIATE transaction; PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED. Leases expire
   * `ttlMs` after the rows are held. With `takeOver` false (a worker back from a stall), and on
   * SQLite when the claim waited longer than ttlMs / 3 for the write lock, no expired lease is taken.
   */
  claimRuns(owner: string, limit: number, ttlMs: number, now: number, takeOver?: boolean): Promise<ClaimedRun[]>;
  /**
   * Makes `owner` a worker whose death other workers see at once: on PostgreSQL a connection holding
   * a session-level advisory lock (released by the server when the connection dies) that also
   * LISTENs for wake-ups; on SQLite nothing (a worker on this host is seen dead by its pid).
   */
  openWorkerSession(owner: string, events: WorkerEvents): Promise<WorkerSession>;
  /** Heartbeat for many leases at once; reports lost leases and cancel requests. */
  renewLeases(leases: readonly Lease[], ttlMs: number): Promise<LeaseCheck[]>;
  /** Cancels a run and its descendants: at once when no live lease holds them, else asks their holder. */
  requestCancel(runId: string): Promise<CancelOutcome>;
  /**
   * Ends a run and its descendants that are not final now, held or not: cancelled with the error
   * code `terminated`, lease token bumped (a holder's writes are fenced), open attempt ended as
   * `terminated`, parents woken. Refuses a missing or final run.
   */
  terminate(runId: string): Promise<TerminateOutcome>;

  /** Stores a signal for a run (kept until a wait consumes it) and wakes the run. Returns its id. */
  sendSignal(runId: string, name: string, data: Uint8Array): Promise<number>;
  /**
   * The signal consumed by journal position `seq` of the lease's run: the one already marked with
   * `seq` (after a crash), else the oldest unconsumed one named `name`, now marked. Fenced.
   */
  takeSignal(lease: Lease, name: string, seq: number): Promise<SignalRecord | undefined>;
  listSignals(rid: number): Promise<SignalRecord[]>;
  /** Creates a child run of the lease's run, or returns it if it exists (same id, same parent). Fenced. */
  createChild(lease: Lease, child: NewRun): Promise<RunRecord>;

  addSchedule(s: NewSchedule): Promise<void>;
  listSchedules(): Promise<ScheduleRecord[]>;
  removeSchedule(name: string): Promise<boolean>;
  /** Changes a schedule (`dwe schedule pause|resume|update`); false when there is none of that name. */
  updateSchedule(name: string, change: ScheduleChange): Promise<boolean>;
  /**
   * Fires one tick: if the schedule is not paused and its next tick is still `tick`, moves it to
   * `nextTick` and creates `run`, in one transaction. False when another worker fired it first.
   */
  fireSchedule(name: string, tick: number, nextTick: number, run: NewRun): Promise<boolean>;

  // ---- portable runs (docs/distributed.md) ----

  /** A consistent snapshot of one run (checksums of its journal verified). RunNotFound if absent. */
  exportRun(runId: string): Promise<RunExport>;
  /**
   * Creates the run from a snapshot in one transaction: its module (kept if already present), row
   * (with no lease), journal, logs and signals. Refused (RunStateError, nothing written) when a run
   * with that id exists.
   */
  importRun(bundle: RunExport): Promise<RunRecord>;

  // ---- retention (docs/worker.md, "Retention") ----

  /**
   * Deletes the final runs `which` selects, with their journals, logs and signals, in one
   * transaction, and returns their ids (oldest finished first); with `dryRun`, returns them and
   * deletes nothing. Never a run that is not final, nor one whose parent is not final (it may still
   * need the child's result): such runs are skipped, not refused (see purge-rules.ts).
   */
  deleteRuns(which: RunDeletion): Promise<string[]>;
}

/** Which runs `deleteRuns` takes: all conditions hold; `statuses` holds final statuses only. */
export interface RunDeletion {
  statuses: readonly RunStatus[];
  /** Only runs that finished before this time (ms since the epoch). */
  finishedBefore?: number;
  /** Only these runs. */
  ids?: readonly string[];
  /** At most this many (the oldest finished first). */
  limit?: number;
  dryRun?: boolean;
}
