// The option and result types of dwe's library API (docs/api.md). Field names mirror the CLI's
// flags, so what a `dwe` command line does reads the same in code.
import type {
  AttemptOutcome,
  CancelOutcome,
  Durability,
  JournalSummary,
  RunConfig,
  RunError,
  RunStatus,
  TerminateOutcome,
  UpgradeRecord,
} from "../store/types.js";
import type { Grants } from "../kernel/grants.js";
import type { ChildLimits } from "../store/child-limits.js";
import type { VerifyOutcome, VerifyReport } from "../executor/verify-run.js";
import type { RunProgress } from "../executor/run-progress.js";

export type {
  AttemptOutcome,
  CancelOutcome,
  ChildLimits,
  Durability,
  Grants,
  JournalSummary,
  RunConfig,
  RunError,
  RunStatus,
  TerminateOutcome,
  UpgradeRecord,
  VerifyOutcome,
  VerifyReport,
};

export interface OpenOptions {
  /** SQLite file (created if missing) or `postgres://` URL. Default: $DWE_DB, else `.dwe/dwe.db` in `cwd`. */
  db?: string;
  /** `process` (default): commits survive this process being killed; `fsync`: power loss too. */
  durability?: Durability;
  /** Refuse a missing SQLite file instead of creating one (read-only use). Default true. */
  create?: boolean;
  /** Directory that relative paths (`--dir` grants, the database) resolve against. Default: process.cwd(). */
  cwd?: string;
  /**
   * Record Prometheus metrics of this process's runs and workers, read with `dwe.metrics()`
   * (docs/observability.md; loads prom-client). Default false. Traces need no option: they are
   * exported when OTEL_EXPORTER_OTLP_ENDPOINT is set.
   */
  metrics?: boolean;
}

/**
 * What a run may touch, as the CLI's grant flags spell it: `dirs` are `HOST[:GUEST][:ro]`
 * (`--dir`), `net` are `HOST[:PORT],…` (`--allow-net`), `shell` is true for any program or the
 * programs allowed (`--allow-shell`), `envOverride` the protected variables exec may set.
 */
export interface GrantSpec {
  dirs?: string[];
  net?: string[];
  shell?: boolean | string | string[];
  envOverride?: string[];
}

/**
 * A module to run: a `.wasm` file's path, its bytes, or the sha256 (hex) of a module this database
 * stores already (`name` is its argv[0] and the name in messages; default `module.wasm`).
 */
export type ModuleSource = string | { bytes: Uint8Array; name?: string } | { sha256: string; name?: string };

export interface StartOptions {
  /** Run id (1-128 letters, digits, `.`, `_`, `-`); default: random. */
  id?: string;
  /** What the run is called in listings (`--name`); default: the module's file name. */
  name?: string;
  /** The run's input: bytes as they are, a string as its UTF-8 text, anything else as JSON. */
  input?: unknown;
  /** Exported function to run (default: `run`, else `_start`). */
  entry?: string;
  /** WASI arguments after the program name, and environment. */
  args?: string[];
  env?: Record<string, string>;
  grants?: GrantSpec;
  /** Stop each attempt after this much active time (ms). */
  timeoutMs?: number;
  /** Guest memory limit in bytes (default 256 MiB). */
  maxMemoryBytes?: number;
  maxJournalEntries?: number;
  maxJournalBytes?: number;
  /** Limits on the child runs of the run's tree (each default as in `dwe run --help`). */
  childLimits?: Partial<ChildLimits>;
  /**
   * Leave the run to a worker (`dwe worker`, or `dwe.worker()` anywhere on the database) instead of
   * executing it in this process in the background. Default false.
   */
  detach?: boolean;
  /** For execution here: sleeps longer than this suspend the run (default 10 s). */
  suspendAfterMs?: number;
  /** For execution here: the run's log lines, once each, as they are committed. */
  onLogs?: (lines: readonly LogLine[]) => void;
  /** For execution here: a command's output as it runs (exec with `live`, pipeline steps). */
  onLive?: LiveHandler;
}

export type LiveHandler = (stream: "stdout" | "stderr", data: Uint8Array) => void;

/** A run as stored. Times are epoch milliseconds. */
export interface RunInfo {
  id: string;
  status: RunStatus;
  /** sha256 (hex) of the module the run is pinned to. */
  module: string;
  /** The module's file name or `--name` (a child run: its parent's); null for runs made before names were stored. */
  name: string | null;
  entry: string;
  input: Uint8Array;
  output: Uint8Array | null;
  error: RunError | null;
  parentId: string | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** When a suspended run is due (null: it waits for a signal or a child). */
  wakeAt: number | null;
  /** What the run was started with (grants, args, env, limits), pinned for its life. */
  config: RunConfig;
}

/**
 * `dwe runs`: which runs `dwe.list` returns, newest first (the children of `parentId` in the order
 * they were started). Every option narrows; times are epoch ms or Dates, `…After` inclusive,
 * `…Before` exclusive.
 */
export interface ListOptions {
  /** One status or any of several. */
  status?: RunStatus | readonly RunStatus[];
  /** The module's sha256, or a prefix of it (hex). */
  module?: string;
  /** The run's name (its module's file name or `--name`). */
  name?: string;
  entry?: string;
  parentId?: string;
  createdAfter?: number | Date;
  createdBefore?: number | Date;
  finishedAfter?: number | Date;
  finishedBefore?: number | Date;
  /** The next page: the id of the last run of the previous one (its `next`). */
  after?: string;
  /** At most this many (default 1000). */
  limit?: number;
}

/** A page of `dwe.list`: `next` is the `after` of the next page, null when there are no more runs. */
export interface RunPage {
  runs: RunInfo[];
  next: string | null;
}

/** `dwe show`: a run, a summary of its journal, and its child runs. */
export interface RunDetails {
  run: RunInfo;
  journal: JournalSummary;
  children: RunInfo[];
  /** Its retries (`dwe retry`), oldest first: how many entries each cut (`dwe journal` shows them). */
  retries: RetrySummary[];
  /** Its module changes (`resume --upgrade`, `retry --upgrade`), oldest first. */
  upgrades: UpgradeRecord[];
  /** What a suspended run waits for (null: not suspended, or not known). */
  waitingFor: WaitInfo | null;
  /** Who executes a running run, and whether that process lives (null: not running). */
  owner: OwnerInfo | null;
}

/** What a suspended run waits for: the wait its journal ends with (seq), and until when (null: no limit). */
export type WaitInfo =
  | { kind: "signal"; seq: number; /** null: the request was not recorded */ signal: string | null; until: number | null }
  | { kind: "child"; seq: number; /** the child runs' ids (any of them ending wakes the run) */ runs: string[]; until: number | null }
  | { kind: "time"; seq: number; /** `sleep`, `wasi.poll_oneoff` */ op: string; until: number | null };

/** A running run's lease holder (`HOST:PID:NONCE`): `dead` (its process is gone), `expired` (its lease ran out) or `live`. */
export interface OwnerInfo {
  id: string;
  leaseExpiresAt: number | null;
  state: "live" | "dead" | "expired";
}

/** A retry as `dwe show` tells it. */
export type RetrySummary = Omit<RetryInfo, "entries"> & { cut: number };

/** One line a run logged (`log`, WASI stdout/stderr, a pipeline step's output). */
export interface LogLine {
  runId: string;
  /** Journal position of the call that logged it. */
  seq: number;
  at: number;
  level: string;
  /** `log`, `stdout`, `stderr`, or `exec` (a command's output shown live as it ran). */
  stream: string;
  message: string;
  /** A WASI program's output as it wrote it (bytes), in lines handed to `onLogs`; not stored (`message` is). */
  data?: Uint8Array;
  /** Only with `LogsOptions.all`: the number of the retry that cut this line (`dwe retry`); the line's call was made again after it. */
  cut?: number;
}

export interface LogsOptions {
  /** Also the lines retries cut (marked with `cut`), each run's lines in the order they were logged. Default false. */
  all?: boolean;
  /** Keep reading until the run (and every child run) has ended. Default false. */
  follow?: boolean;
  /** How often to look for new lines when following (ms, default 200). */
  pollMs?: number;
  /** Stop following when aborted. */
  signal?: AbortSignal;
}

/** `dwe.journal`: which entries, and how much of each. */
export interface JournalOptions {
  /** The first seq to return (default 1). */
  from?: number;
  /** Payloads in full (default: long strings, bytes and arrays shortened). */
  full?: boolean;
}

/** `dwe.followJournal`: JournalOptions, and how to follow. */
export interface JournalFollowOptions extends JournalOptions {
  /** How often to look for new entries (ms, default 200). */
  pollMs?: number;
  /** Stop following when aborted. */
  signal?: AbortSignal;
}

/**
 * One journal entry, decoded: its request as the guest sent it, and its response (`ok`), the error
 * it recorded (`error`), or the intent of an effect whose outcome is not known (`intent`).
 */
export interface JournalEntryInfo {
  seq: number;
  /** The operation's name (`http.request`, `sleep`, `wasi.fd_write` …). */
  op: string;
  state: "intent" | "ok" | "error";
  /** Size of the stored payload. */
  bytes: number;
  /** The decoded request; absent when it was not stored (entries from before dwe kept requests, or over 64 KiB). */
  request?: unknown;
  response?: unknown;
  error?: unknown;
  intent?: unknown;
  /** When the call was made and when its outcome was journaled (ms since the epoch; null: not recorded, as in older entries). */
  startedAt: number | null;
  endedAt: number | null;
  /** endedAt − startedAt, when both are known. */
  durationMs: number | null;
  /** The attempt that wrote the entry (null: written before dwe recorded attempts, or imported). */
  attempt: number | null;
  /**
   * Only for an intent: `in-flight` (its attempt is executing it now), `waiting` (the suspended run
   * waits on it: a sleep, a signal, a child), or `no-result` (a crash point: its attempt ended
   * without journaling the outcome; the next attempt finds it in flight).
   */
  pending?: "in-flight" | "waiting" | "no-result";
}

/** One execution attempt of a run (`dwe journal`). */
export interface AttemptInfo {
  number: number;
  /** The lease holder: `HOST:PID:NONCE`. */
  owner: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  /** The run's state the attempt left it in; null while it runs, or when it crashed. */
  outcome: AttemptOutcome | null;
  error: RunError | null;
  /** The attempt is executing now (its lease is live). */
  live: boolean;
  /** A crash point: the attempt ended without an outcome (its process died, or it lost its lease). */
  crashed: boolean;
}

/** `dwe journal RUN`: the run's attempts and its journal entries from `from`. */
export interface JournalView {
  run: string;
  status: RunStatus;
  attempts: AttemptInfo[];
  entries: JournalEntryInfo[];
  /** The run's retries (`dwe retry`), oldest first, each with the entries it cut. */
  retries: RetryInfo[];
}

/** One retry of a failed run: when, where its journal was cut, after which attempt, and the entries cut. */
export interface RetryInfo {
  number: number;
  at: number;
  /** The first seq cut (the journal's length + 1 then: nothing was cut). */
  fromSeq: number;
  /** The attempts the run had had: the next attempt (afterAttempt + 1) is the first after the cut. */
  afterAttempt: number;
  /** The error the run had failed with. */
  error: RunError | null;
  entries: JournalEntryInfo[];
}

/**
 * What `dwe.followJournal` yields, in timeline order: an attempt's `start` (when first seen), the
 * entries it writes (an intent again once its outcome is journaled, or it is found crashed), the
 * attempt's `end` (once it has ended or crashed), a `retry` (`dwe retry`: the entries it cut, after
 * the end of the attempt that failed; the entries written again after the cut follow as new ones),
 * and the run's end (the last event).
 */
export type JournalEvent =
  | { type: "attempt"; phase: "start" | "end"; attempt: AttemptInfo }
  | { type: "entry"; entry: JournalEntryInfo }
  | { type: "retry"; retry: RetryInfo }
  | { type: "end"; status: RunStatus };

export interface ExecuteOptions {
  /** Continue on this module (the sha256 of a stored module) if the journal replays cleanly on it. */
  upgradeTo?: string;
  /** Replaces the run's grants for this attempt and after (checked by the caller). */
  grants?: Grants;
  suspendAfterMs?: number;
  /** Aborted: the run stops at its next host call and stays resumable. */
  signal?: AbortSignal;
  onLogs?: (lines: readonly LogLine[]) => void;
  onLive?: LiveHandler;
  /** Told about a child run that could not be executed here. */
  onChildError?: (runId: string, message: string) => void;
  /** Told of every journaled call of the run (not its children's), to be read on a timer: a status line's figures. */
  progress?: RunProgress;
}

export interface VerifyOptions {
  /** Stop the replay after this long (ms; default: the run's own timeout, else 60 s). */
  timeoutMs?: number;
  /** The replay's debug lines (`--debug`). */
  onDebug?: (line: string) => void;
}

/** What a suspended run waits for (from its journal's last entry). */
export type WaitsFor = "sleeps" | "waits for a signal" | "waits for a child run";

/** What `Dwe.resume` waits for before it executes the run: another live process's lease, or the run's timer. */
export type ResumeWait = { for: "lease"; holder: string } | { for: "timer"; what: WaitsFor; until: number };

export interface ResumeOptions extends Omit<ExecuteOptions, "upgradeTo" | "grants"> {
  /** Continue on this module (`--upgrade`: a file's path or its bytes) if the journal replays cleanly on it; checked before any wait. */
  upgrade?: Exclude<ModuleSource, { sha256: string }>;
  /** Grants that replace the stored ones (`dwe resume` with grant flags); default: the stored grants. */
  grants?: GrantSpec;
  /** Allow `grants` to widen the stored grants (`--grant`). */
  widenGrants?: boolean;
  /**
   * Wait while another live process holds the run, or while it sleeps until later (default true).
   * false: refuse instead, RunStateError for a held run, RunNotDue for one not due (`--no-wait`).
   */
  wait?: boolean;
  /** Told once when a wait begins (what for, until when). Aborting `signal` ends a wait: the run is returned as it is. */
  onWait?: (wait: ResumeWait) => void;
  /** The upgrade check's debug lines (`--debug`). */
  onDebug?: (line: string) => void;
}

export interface RetryOptions extends ResumeOptions {
  /**
   * Cut the journal before this seq: entries from it on are moved to the run's retry history and
   * made again live (`--from`). Default: before the last entry that recorded an error; with none,
   * nothing is cut.
   */
  fromSeq?: number;
  /** Cut and leave the run pending for a worker instead of executing it here (`--detach`; not with `upgrade`). */
  detach?: boolean;
}

export interface WorkerOptions {
  /** Runs executing at once (default 100). */
  concurrency?: number;
  /** Executor threads (default min(4, CPUs, concurrency)). */
  threads?: number;
  leaseTtlMs?: number;
  pollMs?: number;
  watchdogMs?: number;
  /** On stop, time runs get to reach their next host call (default 10 s). */
  graceMs?: number;
  suspendAfterMs?: number;
  /** Attempts in a row that crash outside guest code after which a run fails (default 5). */
  maxCrashes?: number;
  /** Deletes final runs (with journals, logs, signals) this long after they ended, checked every minute (`--retention`). */
  retentionMs?: number;
  /** Told about runs taken, ended and released (`dwe worker`'s log lines). */
  log?: (line: string) => void;
  /** @internal Fault injection for tests (DWE_TEST_STOP_AFTER_CLAIM): SIGSTOP once after the first claim. */
  stopAfterClaim?: boolean;
}

export interface ResultOptions {
  /** Give up waiting when aborted (the run goes on). */
  signal?: AbortSignal;
  /** How often to look at a run executing elsewhere (ms, default 100). */
  pollMs?: number;
}

export interface ScheduleOptions {
  /** 5 fields (minute hour day-of-month month day-of-week) or a nickname such as `@daily`, read by croner. */
  cron: string;
  /** IANA time zone the expression is read in (`--tz`, e.g. `Europe/Paris`); default UTC. */
  tz?: string;
  input?: unknown;
  entry?: string;
  grants?: GrantSpec;
  timeoutMs?: number;
  maxMemoryBytes?: number;
}

/** `dwe schedule update`: what to change (absent: kept; `tz: null` is UTC). */
export interface ScheduleUpdate {
  cron?: string;
  tz?: string | null;
  input?: unknown;
}

export interface ScheduleInfo {
  name: string;
  cron: string;
  /** null: UTC. */
  tz: string | null;
  paused: boolean;
  module: string;
  entry: string;
  input: Uint8Array;
  nextTick: number;
  lastTick: number | null;
}

export interface PurgeOptions {
  /** Final statuses to delete (default all three: completed, failed, cancelled). */
  statuses?: RunStatus[];
  /** Only runs that ended at least this long ago (ms; default: any age). */
  olderThanMs?: number;
  /** List what would be deleted; delete nothing. */
  dryRun?: boolean;
}

export interface PurgeOutcome {
  /** The runs deleted (or, with `dryRun`, that would be), oldest ended first. */
  runs: string[];
  dryRun: boolean;
}
