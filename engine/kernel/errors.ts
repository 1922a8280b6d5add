/**
 * The error hierarchy of dwe, in one module. Every error has a stable `code` (it survives
 * serialization into the store and `--json` output), a message that says what happened and what
 * to do next, and a `disposition`: what it does to a run whose attempt it ends. An attempt's
 * outcome is a lookup of that (`dispositionOf`), not a chain of checks.
 */

/**
 * What an error that ends an attempt does to its run:
 * - `terminal`: the run ends failed with this error (a trap, a bad request, divergence, a limit);
 * - `cancelled`: the run ends cancelled (`dwe cancel`);
 * - `suspend`: the run is stored suspended until its wake time, or until woken;
 * - `release`: the attempt stops and the run stays resumable, its journal kept (a shutdown);
 * - `retry`: not the run's fault (the store failed): what was not committed is dropped and the run
 *   is left to be tried again;
 * - `fenced`: another process owns the run now: nothing more is written.
 */
export type Disposition = "terminal" | "cancelled" | "suspend" | "release" | "retry" | "fenced";

export class DweError extends Error {
  override name = "DweError";
  readonly code: string;
  /** Exit status the CLI uses when this error ends a command. */
  readonly exitCode: number = 2;
  /** What this error does to a run whose attempt it ends. */
  readonly disposition: Disposition = "terminal";

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Bad command-line input: a malformed flag, a missing argument. */
export class UsageError extends DweError {
  override name = "UsageError";
  constructor(message: string) {
    super("usage", message);
  }
}

export class RunNotFound extends DweError {
  override name = "RunNotFound";
  constructor(runId: string) {
    super("run_not_found", `no run with id '${runId}' in this database; list runs with \`dwe runs\` (or pass the right --db)`);
  }
}

export class RunStateError extends DweError {
  override name = "RunStateError";
  constructor(message: string) {
    super("run_state", message);
  }
}

/** The store itself failed (disk full, I/O error, database unreachable): not the run's fault. */
export class StoreError extends DweError {
  override name = "StoreError";
  override readonly disposition = "retry";
  constructor(message: string, options?: { cause?: unknown }) {
    super("store", message, options);
  }
}

export class InvalidModule extends DweError {
  override name = "InvalidModule";
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_module", message, options);
  }
}

/** A journal row that fails its checksum or cannot be decoded; `seq`: where, when known. */
export class CorruptJournal extends DweError {
  override name = "CorruptJournal";
  constructor(
    message: string,
    readonly seq: number | null = null,
  ) {
    super("corrupt_journal", message);
  }
}

/** The guest asked for something different from what its journal recorded. */
export class NonDeterminismError extends DweError {
  override name = "NonDeterminismError";
  readonly seq: number;
  constructor(runId: string, seq: number, expected: string, actual: string) {
    super(
      "non_determinism",
      `run ${runId} diverged from its journal at seq ${seq}: the journal recorded ${expected}, ` +
        `but the code asked for ${actual}; the run was not changed. Resume it with the module it started with, ` +
        `or fix the new module so it makes the same calls in the same order`,
    );
    this.seq = seq;
  }
}

/** The guest broke the ABI (wild pointer, malformed request): a bug in the guest or its SDK. */
export class AbiViolation extends DweError {
  override name = "AbiViolation";
  constructor(message: string) {
    super("abi_violation", message);
  }
}

/**
 * An error handed back to the guest as a value (`r < 0` in the ABI); the guest may handle it. One
 * that escapes a host call unhandled fails the run with its code.
 */
export class GuestVisibleError extends DweError {
  override name = "GuestVisibleError";
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** Turns anything thrown into a `{code, message}` pair fit for storing and printing. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof DweError) return { code: err.code, message: err.message };
  if (err instanceof WebAssembly.RuntimeError) return { code: "trap", message: `guest trapped: ${err.message}` };
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return { code: "stack_overflow", message: "guest exhausted the call stack (unbounded recursion?)" };
  }
  if (err instanceof Error) return { code: "internal", message: err.message };
  return { code: "internal", message: String(err) };
}

/** `dwe cancel`: thrown out of the guest at its next host call or wait; the run ends as cancelled. */
export class RunCancelled extends DweError {
  override name = "RunCancelled";
  override readonly disposition = "cancelled";
  constructor(runId: string) {
    super("cancelled", `run ${runId} was cancelled (dwe cancel)`);
  }
}

/** A write carried a fencing token the run no longer has: another process took the run over. */
export class LeaseLost extends DweError {
  override name = "LeaseLost";
  override readonly disposition = "fenced";
  constructor(runId: string) {
    super("lease_lost", `this process no longer owns run ${runId} (its lease expired and another worker took it); nothing was written`);
  }
}

/**
 * `dwe resume --no-wait` (`wait: false`) of a run that sleeps, or waits, until a later time: it was
 * not resumed. Exit code 75, as a suspended run.
 */
export class RunNotDue extends DweError {
  override name = "RunNotDue";
  override readonly exitCode = 75;
  constructor(
    readonly runId: string,
    /** "sleeps", "waits for a signal" or "waits for a child run". */
    readonly waitsFor: string,
    readonly wakeAt: number,
  ) {
    super(
      "not_due",
      `run ${runId} ${waitsFor} until ${new Date(wakeAt).toISOString()}; resume it after that (or without --no-wait to wait here)`,
    );
  }
}

/** A `dwe import` file that is not a dwe run file, is damaged or truncated, or is from a newer dwe. */
export class InvalidRunFile extends DweError {
  override name = "InvalidRunFile";
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_run_file", message, options);
  }
}

/**
 * `Run.result()` of a run that ended failed or cancelled: the run's stored error, with its status
 * (and a WASI program's exit code, when it ended itself with one).
 */
export class RunFailed extends DweError {
  override name = "RunFailed";
  override readonly exitCode: number;
  constructor(
    readonly runId: string,
    readonly status: "failed" | "cancelled",
    readonly error: { code: string; message: string; exitCode?: number },
  ) {
    super(
      error.code,
      status === "cancelled"
        ? `run ${runId} was ${error.code === "terminated" ? "terminated" : "cancelled"}`
        : `run ${runId} failed: ${error.code}: ${error.message}`,
    );
    this.exitCode = status === "cancelled" ? 3 : 1;
  }
}

/**
 * An error as it crosses a thread boundary (an attempt thread's, engine/executor/attempt-thread.ts):
 * plain data that keeps what the error is to the caller (its code, message, exit code and
 * disposition), so nothing is parsed back out of a message.
 */
export interface ThreadError {
  code: string;
  message: string;
  exitCode: number;
  disposition: Disposition;
}

/** `err` as it crosses a thread boundary. */
export function threadError(err: unknown): ThreadError {
  const { code, message } = describeError(err);
  return err instanceof DweError
    ? { code, message, exitCode: err.exitCode, disposition: err.disposition }
    : { code, message, exitCode: 2, disposition: "terminal" };
}

/** An error thrown in an attempt thread, thrown again on this side with its code, exit code and disposition. */
export class ReportedError extends DweError {
  override name = "ReportedError";
  override readonly exitCode: number;
  override readonly disposition: Disposition;
  constructor(e: ThreadError) {
    super(e.code, e.message);
    this.exitCode = e.exitCode;
    this.disposition = e.disposition;
  }
}

/** What an error does to a run whose attempt it ends; anything not dwe's own fails the run. */
export function dispositionOf(err: unknown): Disposition {
  return err instanceof DweError ? err.disposition : "terminal";
}

// ---- How an attempt stops ----

/** Thrown out of the guest to suspend the run until `wakeAt` (a long sleep, a wait; null: until woken). */
export class Suspend extends DweError {
  override name = "Suspend";
  override readonly disposition = "suspend";
  constructor(readonly wakeAt: number | null) {
    super("suspended", wakeAt === null ? "suspended until woken" : `suspended until ${new Date(wakeAt).toISOString()}`);
  }
}

/** Abort reason for a process that is shutting down (Ctrl-C, SIGTERM, `Dwe.close`): the run stays resumable. */
export class ShutdownRequested extends DweError {
  override name = "ShutdownRequested";
  override readonly disposition = "release";
  constructor(readonly signal: string) {
    super("interrupted", `interrupted by ${signal}`);
  }
}

/**
 * The program ended itself with an exit code: WASI preview1's `proc_exit`, a component's
 * `wasi:cli/exit` (code 0 is a normal end; `dwe run` exits with any other).
 */
export class ProgramExit extends DweError {
  override name = "ProgramExit";
  constructor(readonly status: number) {
    super("exit", `the program exited with code ${status}`);
  }
}

/** The component trapped (or its JS glue threw). */
export class ComponentTrap extends DweError {
  override name = "ComponentTrap";
  constructor(
    message: string,
    /** The end of what the component wrote to stderr before it trapped (a Rust panic's message). */
    readonly stderrTail = "",
  ) {
    super("trap", `guest trapped: ${message}`);
  }
}

/** The guest called `run.fail`. */
export class GuestFailed extends DweError {
  override name = "GuestFailed";
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The guest called AssemblyScript's `abort`. */
export class GuestAbort extends DweError {
  override name = "GuestAbort";
  constructor(message: string) {
    super("guest_abort", message);
  }
}

/**
 * Verify mode: the guest made a call its journal cannot answer, at `seq` (past the journal's end,
 * or an effect recorded in flight, `inFlight`); the replay stops here, before anything is performed.
 */
export class ReplayEnd extends DweError {
  override name = "ReplayEnd";
  constructor(
    readonly seq: number,
    readonly inFlight: boolean,
  ) {
    super(
      "replay_end",
      `the journal has no answer for seq ${seq}${inFlight ? " (an effect recorded in flight)" : ""}; the replay stops here`,
    );
  }
}

/**
 * The run ran past its --timeout: thrown at its next host call (the Dispatcher), or its attempt
 * aborted with it, or, when its code does not return to the host, its thread stopped with it
 * (engine/executor/attempt-thread.ts). One message wherever the run executes.
 */
export class RunTimeout extends DweError {
  override name = "RunTimeout";
  constructor(runId: string, timeoutMs: number) {
    super("timeout", `run ${runId} ran past its timeout of ${timeoutMs} ms and was stopped; raise --timeout if it needs longer`);
  }
}

/** A worker's watchdog stopped a guest that ran its own code too long without a host call (`dwe worker --watchdog`). */
export class WatchdogStopped extends DweError {
  override name = "WatchdogStopped";
  constructor(runId: string, spentMs: number, watchdogMs: number) {
    super(
      "timeout",
      `run ${runId} ran its own code for ${spentMs} ms without a host call and was stopped by the worker's watchdog (--watchdog ${watchdogMs} ms); an infinite loop?`,
    );
  }
}

/** An attempt thread died by itself (out of memory?) while this run was in its guest code. */
export class ThreadCrashed extends DweError {
  override name = "ThreadCrashed";
  constructor(runId: string) {
    super("crashed", `the executor thread died while run ${runId} was running guest code (out of memory?)`);
  }
}

/** The upgrade target diverged from the run's journal (or its check did not finish): the run is left as it was. */
export class UpgradeRefused extends DweError {
  override name = "UpgradeRefused";
  constructor(cause: NonDeterminismError | { message: string }) {
    super("upgrade_refused", `upgrade refused, the run is unchanged: ${cause.message}`, { cause });
  }
}

// ---- Limits and refusals ----

/** A request that does not have the shape its operation requires: a guest or SDK bug. */
export class BadRequest extends DweError {
  override name = "BadRequest";
  constructor(op: string, message: string) {
    super("bad_request", `bad request to ${op}: ${message}`);
  }
}

/** The run's journal reached its cap: the run fails (its journal must also fit in memory on resume). */
export class JournalLimitReached extends DweError {
  override name = "JournalLimitReached";
  constructor(runId: string, what: string, flag: string) {
    super("journal_limit", `run ${runId} reached its journal limit of ${what}; raise ${flag} if it really needs more`);
  }
}

/** The guest set an output over the limit (`limit` bytes): the run fails (it is stored in the database and printed). */
export class OutputTooLarge extends DweError {
  override name = "OutputTooLarge";
  constructor(size: number, limit: number) {
    super(
      "output_too_large",
      `run.output of ${size} bytes is over the ${limit}-byte (${limit / (1024 * 1024)} MiB) limit; write large results to a granted directory (fs.write) and output their path`,
    );
  }
}

/** A child run refused by the run's child limits; the guest gets it as error `limit`. */
export class ChildLimitReached extends DweError {
  override name = "ChildLimitReached";
  constructor(message: string) {
    super("limit", message);
  }
}

/** A grant that would give the guest one of dwe's own files. */
export class GrantCoversDweFiles extends DweError {
  override name = "GrantCoversDweFiles";
  constructor(message: string) {
    super("grant_refused", message);
  }
}

/** Thrown when code that promised not to write tries to (a bug: `dwe verify` must never write). */
export class ReadOnlyViolation extends DweError {
  override name = "ReadOnlyViolation";
  constructor(method: string) {
    super("internal", `internal: ${method} was called on a read-only view of the store`);
  }
}
