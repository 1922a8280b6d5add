import { runGuestToEnd } from "./guest-runner.js";
import type { RunProgress } from "./run-progress.js";
import {
  ComponentTrap,
  GrantCoversDweFiles,
  LeaseLost,
  ProgramExit,
  RunCancelled,
  RunTimeout,
  ShutdownRequested,
  describeError,
} from "../kernel/errors.js";
import type { JournalEntry, LogRecord } from "../journal/entry.js";
import { DEFAULT_MAX_JOURNAL_BYTES, DEFAULT_MAX_JOURNAL_ENTRIES, JournalWriter } from "./journal-writer.js";
import { DEFAULT_MAX_MEMORY } from "../runtime/module-loader.js";
import type { Lease, RunError, RunRecord, RunStatus, Store } from "../store/types.js";
import { Dispatcher } from "./dispatcher.js";
import { CheckedGuestMemory } from "./guest-memory.js";
import { runServices } from "./run-services.js";
import type { Grants } from "../kernel/grants.js";
import { refuseGrantsOverDweFiles } from "./dwe-files.js";
import type { WasiHost } from "../../host-functions/wasi/preview1.js";
import { heartbeatOf } from "./lease-heartbeat.js";
import { AttemptEnd, endBeforeGuest, endOfError, type AttemptOutcome, type Ending, type PreviousState } from "./run-end.js";
import { prepareAttempt, type PreparedAttempt } from "./prepare-attempt.js";
import { NO_TELEMETRY, type AttemptSpan, type Metrics, type SpanError, type Telemetry } from "../telemetry/telemetry.js";

/**
 * What an attempt is executed with, as plain data: the one options value that crosses into an
 * attempt thread (attempt-thread.ts: `dwe run --timeout`'s, a worker's) as it is.
 */
export interface AttemptOptions {
  /** Lease owner id of this process (see store/lease-owner.ts). */
  owner: string;
  /** Host working directory (relative host paths resolve against it). */
  cwd: string;
  /** Sleeps longer than this suspend the run (default 10 s). */
  suspendAfterMs?: number;
  leaseTtlMs?: number;
  /** Continue the run on this module (sha256) if its journal replays cleanly on it. */
  upgradeTo?: string;
  /** Replace the run's grants with these before executing (`dwe resume` with grant flags, checked by the caller). */
  grants?: Grants;
}

/** The plain-data part of `o` (what a thread is given). */
export function attemptOptions(o: AttemptOptions): AttemptOptions {
  return {
    owner: o.owner,
    cwd: o.cwd,
    ...(o.suspendAfterMs !== undefined && { suspendAfterMs: o.suspendAfterMs }),
    ...(o.leaseTtlMs !== undefined && { leaseTtlMs: o.leaseTtlMs }),
    ...(o.upgradeTo !== undefined && { upgradeTo: o.upgradeTo }),
    ...(o.grants !== undefined && { grants: o.grants }),
  };
}

export interface ExecuteOptions extends AttemptOptions {
  store: Store;
  /** The run as read just before this attempt (its state before the lease is taken): not read again. */
  before?: RunRecord;
  /**
   * The run's journal as read before the lease was taken, when the run's lease token was `token`
   * and no process held it (`dwe resume` reads it first, for its checks): used if the lease taken
   * is the next token (nobody took the run between, so nobody wrote to its journal); else read again.
   */
  journal?: { entries: JournalEntry[]; token: number };
  /** Take the run even if another owner's lease has not expired. */
  steal?: boolean;
  /** Receives the run's log lines once each, as they are committed. */
  onLogs?: (run: RunRecord, logs: readonly LogRecord[]) => void;
  /** Receives a command's output as it runs (exec with `live`), before it is journaled; never on replay. */
  onLive?: (run: RunRecord, stream: "stdout" | "stderr", data: Uint8Array) => void;
  debug?: (line: string) => void;
  signal?: AbortSignal;
  /** A lease already taken (a worker's `claimRuns`), the run's state before it was taken and, if known, the run as the claim left it. */
  claimed?: { lease: Lease; previous: RunStatus; wakeAt: number | null; run?: RunRecord };
  /** Renew the lease from here (default true); a worker renews all its leases itself. */
  heartbeat?: boolean;
  /** Stop at the next host call or wait, letting an effect in flight finish (reason ShutdownRequested or RunCancelled). */
  stop?: AbortSignal;
  /** Called at every host call and before every effect; may abort `stop` (see DispatcherOptions.pollStop). */
  pollStop?: () => void;
  /** Told when the guest's own code starts (true) and stops (false) running on this thread (an attempt thread's watchdog). */
  onGuest?: (running: boolean) => void;
  /** Told once the attempt is prepared and its guest starts, with the deadline its timeout sets (null: none). */
  onStart?: (deadline: number | null) => void;
  /**
   * When the attempt fails outside its guest (its module cannot be loaded, its journal read, the
   * store fails), fail the run with the error before throwing it: a worker, which would otherwise
   * claim it again and again. Default: the run is given back as it was (or left to its lease).
   */
  failOnEngineError?: boolean;
  /** Where the attempt's metrics and spans go (docs/observability.md); default nowhere. */
  telemetry?: Telemetry;
  /** Told of every journaled call (see RunProgress). */
  progress?: RunProgress;
}

/** How an attempt ended, counted and told to its span: the run's status afterwards, lease_lost or error. */
function recordEnd(metrics: Metrics, span: AttemptSpan, outcome: string, error: SpanError | null): void {
  metrics.count("attempts", outcome);
  if (outcome === "completed") metrics.count("runs_completed");
  else if (outcome === "failed") metrics.count("runs_failed");
  else if (outcome === "cancelled") metrics.count("runs_cancelled");
  else if (outcome === "lease_lost") metrics.count("leases_lost");
  span.end(outcome, error);
}

/**
 * A trap with the guest's memory near its limit is most likely a failed `memory.grow` (allocators
 * trap on it): say so, rather than only "unreachable".
 */
function outOfMemory(err: unknown, memory: CheckedGuestMemory, limit: number): { code: string; message: string } | null {
  const used = memory.byteLength;
  if (!(err instanceof WebAssembly.RuntimeError) || used === 0) return null;
  const mib = (n: number) => (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "");
  if (used + 65536 > limit) {
    return {
      code: "out_of_memory",
      message: `guest trapped (${err.message}) with its memory at the ${mib(limit)} MiB limit: it ran out of memory; raise --max-memory if it needs more`,
    };
  }
  if (used * 2 < limit) return null;
  return {
    code: "trap",
    message: `guest trapped: ${err.message} (its memory was ${mib(used)} MiB of its ${mib(limit)} MiB limit; if it ran out, raise --max-memory)`,
  };
}

/**
 * The stored error of a failed attempt. A program that exited with a code keeps it (`dwe run`
 * exits with it); a trap carries the end of what the program wrote to stderr, where a Rust panic
 * or a C assertion says what went wrong.
 */
function failure(err: unknown, memory: CheckedGuestMemory, run: RunRecord, wasi: WasiHost): RunError {
  if (err instanceof ProgramExit) return { code: err.code, message: err.message, exitCode: err.status };
  const error = outOfMemory(err, memory, run.config.maxMemoryBytes ?? DEFAULT_MAX_MEMORY) ?? describeError(err);
  const said = err instanceof ComponentTrap ? err.stderrTail : err instanceof WebAssembly.RuntimeError ? wasi.stdio.stderrTail() : "";
  return said === "" ? error : { ...error, message: `${error.message}; the program's stderr ended with: ${said}` };
}

export const DEFAULT_SUSPEND_AFTER_MS = 10_000;
export const DEFAULT_LEASE_TTL_MS = 30_000;

/**
 * Executes one attempt of a run: takes its lease, replays its journal through a fresh instance,
 * continues live, and records how the attempt ended. Returns the run as stored afterwards.
 */
export async function executeRun(runId: string, o: ExecuteOptions): Promise<RunRecord> {
  await executeAttempt(runId, o);
  return (await o.store.getRun(runId))!;
}

/**
 * `executeRun` without reading the run back afterwards: the outcome is what this attempt stored
 * (`finishRun` succeeded, so the row holds exactly that). For `dwe worker`, which reports only this.
 */
export async function executeAttempt(runId: string, o: ExecuteOptions): Promise<AttemptOutcome> {
  const { store } = o;
  const before = o.claimed ? undefined : (o.before ?? (await store.getRun(runId)));
  const ttl = o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const lease = o.claimed?.lease ?? (await store.acquireLease(runId, o.owner, ttl, o.steal ?? false));
  const previous: PreviousState = o.claimed
    ? { status: o.claimed.previous, wakeAt: o.claimed.wakeAt }
    : { status: before?.status ?? "pending", wakeAt: before?.wakeAt ?? null };
  const ending = new AttemptEnd(store, lease);
  const telemetry = o.telemetry ?? NO_TELEMETRY;
  const span = telemetry.tracer.attempt({ id: runId, attempt: lease.attempt });
  // With a heartbeat here, a lost lease stops the attempt (its writes are fenced anyway), a cancel
  // request stops it at the next host call; a worker's renewals abort o.signal and o.stop instead.
  let signal = o.signal;
  let stop = o.stop;
  let heartbeat: ReturnType<typeof heartbeatOf> | null = null;
  if (o.heartbeat !== false) {
    const lost = new AbortController();
    const cancel = new AbortController();
    heartbeat = heartbeatOf(store, lease, ttl, {
      lost: () => lost.abort(new LeaseLost(runId)),
      cancel: () => cancel.abort(new RunCancelled(runId)),
    });
    signal = o.signal ? AbortSignal.any([o.signal, lost.signal]) : lost.signal;
    stop = o.stop ? AbortSignal.any([o.stop, cancel.signal]) : cancel.signal;
  }
  try {
    if (o.grants) await store.setRunGrants(lease, o.grants);
    const ended = await attempt(lease, previous, { ...o, ...(signal && { signal }), ...(stop && { stop }) }, span);
    if (ended.end === null) throw ended.thrown;
    const outcome = await ending.write(ended.end);
    recordEnd(telemetry.metrics, span, outcome.status, outcome.error);
    if (ended.thrown !== undefined) throw ended.thrown;
    return outcome;
  } catch (err) {
    if (!ending.written) recordEnd(telemetry.metrics, span, err instanceof LeaseLost ? "lease_lost" : "error", describeError(err));
    // Not the guest's doing, and no end written (the store failed outside the guest): a worker
    // fails the run (it would claim it again and again); `dwe run` and `dwe resume` leave it. Thrown either way.
    if (o.failOnEngineError && !ending.written && !(err instanceof LeaseLost)) {
      await ending.write({ status: "failed", error: describeError(err) }).catch(() => undefined);
    }
    throw err;
  } finally {
    heartbeat?.stop();
  }
}

function grantRefusal(run: RunRecord, location: string): { code: string; message: string } | null {
  try {
    refuseGrantsOverDweFiles(run.config.grants, location);
    return null;
  } catch (err) {
    if (!(err instanceof GrantCoversDweFiles)) throw err;
    return { code: err.code, message: `run ${run.id} was not executed: its grant ${err.message}` };
  }
}

async function attempt(lease: Lease, previous: PreviousState, o: ExecuteOptions, span: AttemptSpan): Promise<Ending> {
  // Listen from the start: a lease lost (or a shutdown) while the journal is read or the module
  // loaded stops the attempt at its first host call, not only one lost after loading.
  const abort = new AbortController();
  const onAbort = () => abort.abort(o.signal?.reason);
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener("abort", onAbort, { once: true });
  // A cancelled run does not wait for an effect in flight (a shutdown does): its command's process
  // group is killed, its request aborted (host functions watch the signal).
  const onStop = () => {
    if (o.stop?.reason instanceof RunCancelled) abort.abort(o.stop.reason);
  };
  o.stop?.addEventListener("abort", onStop, { once: true });
  try {
    return await attemptListening(lease, previous, o, abort, span);
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    o.stop?.removeEventListener("abort", onStop);
  }
}

async function attemptListening(
  lease: Lease,
  previous: PreviousState,
  o: ExecuteOptions,
  abort: AbortController,
  span: AttemptSpan,
): Promise<Ending> {
  const { store } = o;
  const run = o.claimed?.run ?? (await store.getRun(lease.runId))!;
  if (run.configProblem !== undefined) {
    const message = `run ${run.id} cannot be executed: its stored config ${run.configProblem}; it was failed (start it again with \`dwe run\`)`;
    return { end: { status: "failed", error: { code: "corrupt_run", message } }, journal: "discard" };
  }
  // The run's grants may come from another host or an older dwe: checked against this process's files.
  const refused = grantRefusal(run, store.location);
  if (refused) return { end: { status: "failed", error: refused }, journal: "discard" };
  let prepared: PreparedAttempt;
  try {
    const journal = o.journal && lease.token === o.journal.token + 1 ? o.journal.entries : undefined;
    prepared = await prepareAttempt(store, run, { module: o.upgradeTo, journal });
  } catch (err) {
    return endBeforeGuest(err, previous, o.failOnEngineError ?? false);
  }
  const { journal: recorded, guest, wasi, functions } = prepared;
  const metrics = o.telemetry?.metrics;
  if (metrics && previous.status === "pending" && recorded.length === 0) metrics.count("runs_started");
  const journal = new JournalWriter(store, lease, {
    maxBatch: 512,
    maxDelayMs: 20,
    leaseTtlMs: o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    onCommitted: o.onLogs && ((logs) => o.onLogs!(run, logs)),
    maxBytes: {
      runId: run.id,
      limit: run.config.maxJournalBytes ?? DEFAULT_MAX_JOURNAL_BYTES,
      used: recorded.reduce((n, e) => n + e.payload.length, 0),
    },
    ...(metrics && { metrics }),
  });
  const timeoutMs = run.config.timeoutMs;
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs;
  const upgradeTo = o.upgradeTo;
  const dispatcher = new Dispatcher({
    run,
    cwd: o.cwd,
    journal,
    recorded,
    functions,
    suspendAfterMs: o.suspendAfterMs ?? DEFAULT_SUSPEND_AFTER_MS,
    signal: abort.signal,
    deadline,
    ...(o.stop && { stop: o.stop }),
    ...(o.pollStop && { pollStop: o.pollStop }),
    services: runServices(store, lease, run),
    maxEntries: run.config.maxJournalEntries ?? DEFAULT_MAX_JOURNAL_ENTRIES,
    ...(o.onLive && { live: (stream: "stdout" | "stderr", data: Uint8Array) => o.onLive!(run, stream, data) }),
    ...(upgradeTo !== undefined && { onReplayEnd: () => store.setRunModule(lease, upgradeTo) }),
    ...(metrics && { metrics }),
    ...(o.progress && { progress: o.progress }),
    span,
  });
  const memory = new CheckedGuestMemory();
  const debug = o.debug ?? (() => undefined);
  const timer = timeoutMs === null ? null : setTimeout(() => abort.abort(new RunTimeout(run.id, timeoutMs)), timeoutMs);
  o.onStart?.(deadline);
  try {
    await runGuestToEnd({ run, dispatcher, wasi, memory, ...guest, signal: abort.signal, debug, onGuest: o.onGuest });
    await journal.commit();
    return { end: { status: "completed", output: dispatcher.output }, journal: "keep" };
  } catch (err) {
    const ended = endOfError(err, {
      previous,
      upgrading: upgradeTo !== undefined,
      shuttingDown: o.signal?.aborted === true && o.signal.reason instanceof ShutdownRequested,
      failure: (e) => failure(e, memory, run, wasi),
    });
    if (ended.journal === "discard") journal.discard();
    else if (ended.journal === "commit") await journal.commit();
    else await journal.commit().catch(() => undefined);
    return ended;
  } finally {
    wasi.close();
    if (timer) clearTimeout(timer);
  }
}
