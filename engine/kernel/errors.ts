/**
 * The error hierarchy of dwe. Every error has a stable `code` (it survives serialization into
 * the store and `--json` output) and a message that says what happened and what to do next.
 */
export class DweError extends Error {
  override name = "DweError";
  readonly code: string;
  /** Exit status the CLI uses when this error ends a command. */
  readonly exitCode: number = 2;

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

export class StoreError extends DweError {
  override name = "StoreError";
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

/** A journal row that fails its checksum or cannot be decoded. */
export class CorruptJournal extends DweError {
  override name = "CorruptJournal";
  constructor(message: string) {
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

/** An error handed back to the guest as a value (`r < 0` in the ABI); the guest may handle it. */
export class GuestVisibleError extends Error {
  override name = "GuestVisibleError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns anything thrown into a `{code, message}` pair fit for storing and printing. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof DweError) return { code: err.code, message: err.message };
  if (err instanceof GuestVisibleError) return { code: err.code, message: err.message };
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
  constructor(runId: string) {
    super("cancelled", `run ${runId} was cancelled (dwe cancel)`);
  }
}

/** A write carried a fencing token the run no longer has: another process took the run over. */
export class LeaseLost extends DweError {
  override name = "LeaseLost";
  constructor(runId: string) {
    super("lease_lost", `this process no longer owns run ${runId} (its lease expired and another worker took it); nothing was written`);
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
    super(error.code, status === "cancelled" ? `run ${runId} was cancelled` : `run ${runId} failed: ${error.code}: ${error.message}`);
    this.exitCode = status === "cancelled" ? 3 : 1;
  }
}
