import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ShutdownRequested, StoreError, UsageError, RunNotFound } from "../kernel/errors.js";
import { openStoreAt } from "../store/open.js";
import { isPostgresUrl } from "../store/pg-url.js";
import type { Durability, RunRecord, Store } from "../store/types.js";
import type { LogRecord } from "../journal/entry.js";
import { executeHere, type ExecuteHereOptions } from "./execute-here.js";
import { listRuns } from "./list-runs.js";
import { readJournalView } from "./journal.js";
import { followJournal } from "./journal-follow.js";
import { readLogs } from "./logs.js";
import { exportRun, importRun, type ImportOptions, type ImportOutcome } from "./portable.js";
import { type ModuleBytesSource, createPreparedRun, prepareRun, type PreparedRun } from "./prepare-run.js";
import { Run, sendSignal } from "./run.js";
import { logLine, runInfo } from "./run-info.js";
import { ownerInfo, readWaitingFor } from "./run-details.js";
import { deleteRun, purge } from "./retention.js";
import { forkRun, type ForkOptions } from "./fork.js";
import { addSchedule, listSchedules, pauseSchedule, removeSchedule, resumeSchedule, updateSchedule } from "./schedules.js";
import type {
  CancelOutcome,
  ExecuteOptions,
  JournalEntryInfo,
  JournalEvent,
  JournalFollowOptions,
  JournalOptions,
  JournalView,
  ListOptions,
  LogLine,
  LogsOptions,
  ModuleSource,
  OpenOptions,
  PurgeOptions,
  PurgeOutcome,
  ResumeOptions,
  RetryOptions,
  RunDetails,
  RunInfo,
  RunPage,
  ScheduleInfo,
  ScheduleOptions,
  ScheduleUpdate,
  StartOptions,
  TerminateOutcome,
  VerifyOptions,
  VerifyReport,
  WorkerOptions,
} from "./types.js";
import { DweWorker } from "./worker.js";
import { resumeRun } from "./resume.js";
import { newOwnerId } from "../store/lease-owner.js";
import { DEFAULT_LEASE_TTL_MS } from "../executor/run-executor.js";
import { retryRun } from "./retry.js";
import { DEFAULT_VERIFY_TIMEOUT_MS, verifyInThread } from "../executor/verify-in-thread.js";
import { NO_METRICS, NO_TRACER, type Telemetry, type Tracer } from "../telemetry/telemetry.js";
import { prometheusMetrics, tracerFromEnv } from "../telemetry/load.js";
import type { PrometheusMetrics } from "../telemetry/prometheus.js";
import { countRunsEvery } from "./run-counts.js";

export const DEFAULT_DB = ".dwe/dwe.db";

/**
 * dwe as a library (docs/api.md): one database (SQLite file or PostgreSQL), and everything the CLI
 * does on it. The database is opened at the first call that needs it, after that call's input is
 * checked, so a call refused for bad input leaves no file behind.
 */
export class Dwe {
  private opened: Store | null = null;
  private readonly running = new Map<string, Promise<RunRecord>>();
  private readonly workers = new Set<DweWorker>();
  private readonly closing = new AbortController();
  /** Prometheus metrics (`metrics: true`), and the tracer the OTEL_* variables configure. */
  private prometheus: PrometheusMetrics | null = null;
  private tracer: Tracer = NO_TRACER;

  private constructor(
    /** The database: an absolute SQLite path or a postgres:// URL (with any password). */
    private readonly db: string,
    readonly durability: Durability,
    /** The directory relative paths resolve against. */
    readonly cwd: string,
  ) {}

  /**
   * A handle on the database at `db` (default $DWE_DB, else .dwe/dwe.db). With `create: false` a
   * missing SQLite file is refused (StoreError) instead of created.
   */
  static async open(o: OpenOptions = {}): Promise<Dwe> {
    const cwd = o.cwd ?? process.cwd();
    const p = o.db ?? process.env.DWE_DB ?? DEFAULT_DB;
    if (p === "") throw new UsageError("--db (or DWE_DB) is empty; give a database path or a postgres:// URL");
    const location = isPostgresUrl(p) ? p : resolve(cwd, p);
    const durability = o.durability ?? "process";
    if (durability !== "process" && durability !== "fsync") {
      throw new UsageError(
        `bad --durability '${String(durability)}': use 'process' (survives process crashes) or 'fsync' (survives power loss)`,
      );
    }
    const dwe = new Dwe(location, durability, cwd);
    dwe.tracer = await tracerFromEnv();
    if (o.metrics) {
      const counts = countRunsEvery(1_000, () => dwe.store().countRuns());
      dwe.prometheus = await prometheusMetrics({
        runsByStatus: counts,
        inFlight: () => dwe.running.size + [...dwe.workers].reduce((n, w) => n + w.inFlight, 0),
      });
    }
    if (o.create === false) {
      if (!isPostgresUrl(location) && !existsSync(location)) {
        throw new StoreError(`no dwe database at ${location}; start a run with \`dwe run\` first, or pass --db (or DWE_DB)`);
      }
      dwe.opened = openStoreAt(location, durability, false);
    }
    return dwe;
  }

  /** The database as messages name it: the SQLite path, or the PostgreSQL URL without its password. */
  get location(): string {
    return this.store().location;
  }

  /** @internal The store (opened on first use). */
  store(): Store {
    if (this.closing.signal.aborted) throw new UsageError("this Dwe is closed");
    this.opened ??= openStoreAt(this.db, this.durability, true);
    return this.opened;
  }

  /** @internal Where attempts in this process report (docs/observability.md). */
  get telemetry(): Telemetry {
    return { metrics: this.prometheus ?? NO_METRICS, tracer: this.tracer };
  }

  /**
   * The Prometheus text exposition of this process's metrics (docs/observability.md), for a
   * `GET /metrics`; only for a Dwe opened with `metrics: true`.
   */
  async metrics(): Promise<{ text: string; contentType: string }> {
    if (!this.prometheus)
      throw new UsageError("metrics are off: open the Dwe with `metrics: true` (`dwe worker --metrics`, `dwe server --metrics`)");
    return this.prometheus.scrape();
  }

  /** @internal The attempt of `runId` executing in this process, if any. */
  executing(runId: string): Promise<unknown> | undefined {
    return this.running.get(runId);
  }

  /**
   * Checks a module and the run's options (nothing is written when they are bad), pins the module,
   * and creates the run. Unless `detach`, the run then executes in this process in the background
   * (with the child runs it waits for); `run.result()` waits for it wherever it ends.
   */
  async start(module: ModuleSource, o: StartOptions = {}): Promise<Run> {
    return this.startPrepared(prepareRun(await this.moduleBytes(module), o, this.cwd, this.db), o);
  }

  /** A module given by sha256 as its stored bytes (UsageError if this database has none by that hash). */
  private async moduleBytes(module: ModuleSource): Promise<ModuleBytesSource> {
    if (typeof module === "string" || !("sha256" in module)) return module;
    if (!/^[0-9a-f]{64}$/.test(module.sha256)) {
      throw new UsageError(`bad module sha256 '${module.sha256}': expected 64 lowercase hex digits (see \`dwe show RUN\`)`);
    }
    const stored = await this.store().getModule(module.sha256);
    if (!stored) throw new UsageError(`no module with sha256 ${module.sha256} in this database; upload its bytes instead`);
    return { bytes: stored.bytes, name: module.name ?? "module.wasm" };
  }

  /** @internal `start` of a run checked already (the CLI checks its flags first). */
  async startPrepared(p: PreparedRun, o: Pick<StartOptions, "detach" | "suspendAfterMs" | "onLogs" | "onLive"> = {}): Promise<Run> {
    if (o.detach) {
      await createPreparedRun(this.store(), p);
      return this.run(p.run.id);
    }
    const { execution } = await this.startHere(p, {
      ...(o.suspendAfterMs !== undefined && { suspendAfterMs: o.suspendAfterMs }),
      ...(o.onLogs && { onLogs: o.onLogs }),
      ...(o.onLive && { onLive: o.onLive }),
    });
    execution.catch(() => undefined); // seen by result(), which then asks the store
    return this.run(p.run.id);
  }

  /**
   * @internal Creates a checked run under this process's lease (one transaction, so no worker can
   * claim it first) and executes it here (`dwe run`); resolves once it is created, with its execution.
   */
  async startHere(p: PreparedRun, o: ExecuteOptions = {}): Promise<{ execution: Promise<RunInfo> }> {
    const claimed = await createPreparedRun(this.store(), p, { owner: newOwnerId(), ttlMs: DEFAULT_LEASE_TTL_MS });
    return { execution: this.executeRecord(p.run.id, { ...o, ...(claimed && { claimed }) }).then(runInfo) };
  }

  /**
   * `dwe fork`: a new run whose journal is a copy of `sourceId`'s first `at` entries (default: all
   * that are complete), recorded as forked from it (`config.forkedFrom`); it replays them and goes on
   * live. Unless `detach`, it executes in this process in the background, as `start` does.
   */
  async fork(sourceId: string, o: ForkOptions & { detach?: boolean } = {}): Promise<Run> {
    const run = await forkRun(this.store(), sourceId, o);
    if (!o.detach) this.executeRecord(run.id, {}).catch(() => undefined); // seen by result()
    return this.run(run.id);
  }

  /** A handle on an existing run (not checked until used). */
  run(id: string): Run {
    return new Run(this, id);
  }

  /** The run as stored. RunNotFound if there is none. */
  async get(id: string): Promise<RunInfo> {
    const run = await this.store().getRun(id);
    if (!run) throw new RunNotFound(id);
    return runInfo(run);
  }

  /** `dwe show`: the run, a summary of its journal, and its child runs. RunNotFound if there is none. */
  async show(id: string): Promise<RunDetails> {
    const store = this.store();
    const run = await store.getRun(id);
    if (!run) throw new RunNotFound(id);
    const journal = await store.summarizeJournal(run.rid);
    return {
      run: runInfo(run),
      journal,
      children: (await store.listRuns({ parentId: run.id })).map(runInfo),
      retries: (await store.listRetries(run.rid)).map(({ entries, ...r }) => ({ ...r, cut: entries.length })),
      upgrades: await store.listUpgrades(run.rid),
      waitingFor: await readWaitingFor(store, run, journal.entries),
      owner: ownerInfo(run, Date.now()),
    };
  }

  /** The run's journal entry by entry, decoded. RunNotFound if there is no such run. */
  async journal(id: string, o: JournalOptions = {}): Promise<JournalEntryInfo[]> {
    return (await readJournalView(this.store(), id, o)).entries;
  }

  /**
   * `dwe journal`, `GET /api/runs/ID/journal`: the run's attempts (crash points marked) and its
   * journal from `o.from`, each entry with its request, outcome, times and attempt.
   */
  journalView(id: string, o: JournalOptions = {}): Promise<JournalView> {
    return readJournalView(this.store(), id, o);
  }

  /** `dwe journal --follow`: the journal view as events, then each change as it is committed, until the run ends. */
  followJournal(id: string, o: JournalFollowOptions = {}): AsyncGenerator<JournalEvent> {
    return followJournal(this.store(), id, o);
  }

  /**
   * Runs, newest first (children of `parentId` in the order they were started), narrowed by the
   * options; at most `limit` (default 1000) and `next` to pass as `after` when more runs exist.
   */
  list(o: ListOptions = {}): Promise<RunPage> {
    return listRuns(this.store(), o);
  }

  /**
   * Executes a run here (with the child runs it waits for) until it ends or cannot go on here (it
   * sleeps past `suspendAfterMs`, waits for a signal, or another process holds it); returns it.
   */
  async execute(runId: string, o: ExecuteOptions = {}): Promise<RunInfo> {
    return runInfo(await this.executeRecord(runId, o));
  }

  private executeRecord(runId: string, o: ExecuteOptions & Pick<ExecuteHereOptions, "journal" | "claimed">): Promise<RunRecord> {
    const signal = o.signal ? AbortSignal.any([o.signal, this.closing.signal]) : this.closing.signal;
    const onLogs = o.onLogs;
    const p = executeHere(this.store(), runId, {
      cwd: this.cwd,
      db: this.db,
      durability: this.durability,
      signal,
      telemetry: this.telemetry,
      ...(o.upgradeTo !== undefined && { upgradeTo: o.upgradeTo }),
      ...(o.grants !== undefined && { grants: o.grants }),
      ...(o.journal && { journal: o.journal }),
      ...(o.claimed && { claimed: o.claimed }),
      ...(o.suspendAfterMs !== undefined && { suspendAfterMs: o.suspendAfterMs }),
      ...(onLogs && { onLogs: (id: string, logs: readonly LogRecord[]) => onLogs(logs.map((l) => logLine(id, l))) }),
      ...(o.onLive && { onLive: o.onLive }),
      ...(o.progress && { progress: o.progress }),
      onChildError: o.onChildError ?? (() => undefined),
    }).finally(() => {
      if (this.running.get(runId) === p) this.running.delete(runId);
    });
    this.running.set(runId, p);
    return p;
  }

  /**
   * `dwe resume`: replays the run's journal and continues it here (with the child runs it waits for),
   * with its stored grants or `grants`, on `upgrade` if the journal replays cleanly on it (checked
   * before any wait). While another live process holds the run, or the run sleeps until later, it
   * waits (`onWait` is told; `wait: false` refuses instead). Returns the run as stored afterwards.
   */
  async resume(runId: string, o: ResumeOptions = {}): Promise<RunInfo> {
    const host = { store: this.store(), db: this.db, durability: this.durability, cwd: this.cwd };
    const signal = o.signal ? AbortSignal.any([o.signal, this.closing.signal]) : this.closing.signal;
    return runInfo(await resumeRun({ ...host, execute: (id, e) => this.executeRecord(id, e) }, runId, { ...o, signal }));
  }

  /**
   * `dwe retry`: continues a failed run from its journal. The journal is cut before the last entry
   * that recorded an error (or before `fromSeq`), the cut entries kept in the run's retry history
   * (`journalView`'s `retries`); then it is resumed here as `resume` does, with `grants` (checked
   * as resume checks them) and on `upgrade` if the kept part replays cleanly on it. With `detach`,
   * the run is only cut and left pending for a worker. Returns the run as stored afterwards.
   */
  async retry(runId: string, o: RetryOptions = {}): Promise<RunInfo> {
    const host = { store: this.store(), db: this.db, durability: this.durability, cwd: this.cwd };
    const signal = o.signal ? AbortSignal.any([o.signal, this.closing.signal]) : this.closing.signal;
    return runInfo(await retryRun({ ...host, execute: (id, e) => this.executeRecord(id, e) }, runId, { ...o, signal }));
  }

  /**
   * `dwe verify`: replays the run against its journal in a thread of its own, without side effects
   * or writes, stopped after `timeoutMs`; says whether the journal is intact and the code
   * deterministic, and where not (`seq`). RunNotFound if there is no such run.
   */
  async verify(runId: string, o: VerifyOptions = {}): Promise<VerifyReport> {
    const store = this.store();
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    return verifyInThread(store, run, {
      db: this.db,
      durability: this.durability,
      timeoutMs: o.timeoutMs ?? run.config.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS,
      ...(o.onDebug && { onDebug: o.onDebug }),
    });
  }

  /** Sends a signal (`signal.wait` in the guest); kept until the run waits for it. `data` as a run's input. Returns its id. */
  signal(runId: string, name: string, data?: unknown): Promise<number> {
    return sendSignal(this.store(), runId, name, data);
  }

  /** Cancels a run and its children: at once if idle, else at their next host call or wait. */
  cancel(runId: string): Promise<CancelOutcome> {
    return this.store().requestCancel(runId);
  }

  /**
   * Ends a run and its children now, even one executing a guest that never calls the host
   * (`dwe terminate`): cancelled, error code `terminated`. Its holder's writes are fenced, and its
   * thread is stopped when the holder's heartbeat sees the lease gone. Refuses a final run.
   */
  terminate(runId: string): Promise<TerminateOutcome> {
    return this.store().terminate(runId);
  }

  /**
   * Deletes final runs for good, with their journals, logs and signals (`dwe purge`): by default every
   * completed, failed and cancelled run; never a run that is not final, nor a child whose parent is not.
   */
  purge(o: PurgeOptions = {}): Promise<PurgeOutcome> {
    return purge(this.store(), o);
  }

  /** Deletes one final run for good (`dwe delete`). RunNotFound; RunStateError when it is not final (or its parent is not). */
  delete(runId: string): Promise<void> {
    return deleteRun(this.store(), runId);
  }

  /** What a run and its child runs logged, once each, in order; with `follow`, until they have all ended. */
  logs(runId: string, o: LogsOptions = {}): AsyncGenerator<LogLine> {
    return readLogs(this.store(), runId, o);
  }

  /** Starts a worker in this process (executor threads, schedules); `worker.stop()` stops it cleanly. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so bad options reject, as every call does
  async worker(o: WorkerOptions = {}): Promise<DweWorker> {
    const w = new DweWorker(this.store(), this.db, this.durability, this.cwd, o, this.prometheus);
    this.workers.add(w);
    void w.done.finally(() => this.workers.delete(w));
    return w;
  }

  /** The run as a portable file (`dwe export`). */
  export(runId: string): Promise<Uint8Array> {
    return exportRun(this.store(), runId);
  }

  /** Brings in a run file (`dwe import`); its grants are held back unless `grant`. */
  import(bytes: Uint8Array, o: ImportOptions = {}): Promise<ImportOutcome> {
    return importRun(() => this.store(), bytes, o, this.db);
  }

  /** Adds a schedule (`dwe schedule add`); returns its first tick (epoch ms). */
  async addSchedule(name: string, module: ModuleSource, o: ScheduleOptions): Promise<number> {
    return addSchedule(this.store(), name, await this.moduleBytes(module), o, this.cwd, this.db);
  }

  listSchedules(): Promise<ScheduleInfo[]> {
    return listSchedules(this.store());
  }

  removeSchedule(name: string): Promise<void> {
    return removeSchedule(this.store(), name);
  }

  /** `dwe schedule pause`: no tick fires until `resumeSchedule`. */
  pauseSchedule(name: string): Promise<ScheduleInfo> {
    return pauseSchedule(this.store(), name);
  }

  /** `dwe schedule resume`: fires again from the next tick after now (ticks missed while paused are not fired). */
  resumeSchedule(name: string): Promise<ScheduleInfo> {
    return resumeSchedule(this.store(), name);
  }

  /** `dwe schedule update`: a new cron expression, time zone or input; the next tick is computed from now. */
  updateSchedule(name: string, o: ScheduleUpdate): Promise<ScheduleInfo> {
    return updateSchedule(this.store(), name, o);
  }

  /**
   * Stops what runs here (runs executing in this process stop at their next host call and stay
   * resumable; workers stop cleanly) and closes the database.
   */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new ShutdownRequested("close"));
    await Promise.allSettled([...this.running.values(), ...[...this.workers].map((w) => w.stop())]);
    await this.opened?.close();
    this.opened = null;
    // Spans still buffered are exported before the process ends (a failed export is not the caller's problem).
    await this.tracer.flush().catch(() => undefined);
  }
}
