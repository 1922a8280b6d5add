// How an attempt ends, decided and written in one place. Whatever executes a run (`dwe run` and
// `dwe resume` on this thread, `dwe run --timeout` in a thread, a worker's executor thread, the
// worker's supervisor for the runs of a thread it replaced), the run's end is written by an
// AttemptEnd: once per attempt, under the attempt's lease (fenced by the store), never after a release.
import {
  LeaseLost,
  NonDeterminismError,
  Suspend,
  UpgradeRefused,
  describeError,
  dispositionOf,
  type Disposition,
} from "../kernel/errors.js";
import type { Lease, RunEnd, RunError, RunStatus, Store } from "../store/types.js";

/** How an attempt left the run: the status and error `finishRun` stored (what a worker reports). */
export interface AttemptOutcome {
  status: RunStatus;
  error: { code: string; message: string } | null;
}

/** The run's state before the attempt took its lease: what a release gives back. */
export interface PreviousState {
  status: RunStatus;
  wakeAt: number | null;
}

/** Gives the run back as it was before the attempt, or (without `previous`) as pending, resumable at once. */
export function released(previous?: PreviousState, crashed = false): RunEnd {
  return {
    status: "released",
    previous: previous?.status ?? "pending",
    wakeAt: previous?.wakeAt ?? null,
    ...(crashed && { crashed: true }),
  };
}

/** The status and error `finishRun` writes for `end` (see the stores' finishRun). */
export function outcomeOf(end: RunEnd): AttemptOutcome {
  switch (end.status) {
    case "released":
      return { status: end.previous, error: null };
    case "failed":
    case "cancelled":
      return { status: end.status, error: { code: end.error.code, message: end.error.message } };
    default:
      return { status: end.status, error: null };
  }
}

/** The one writer of a run's end for one attempt (one lease): writes it once, and refuses a second write. */
export class AttemptEnd {
  private writtenAs: RunEnd["status"] | null = null;

  constructor(
    private readonly store: Store,
    readonly lease: Lease,
  ) {}

  /** Whether the end was written (or its write tried): nothing more is written under this lease. */
  get written(): boolean {
    return this.writtenAs !== null;
  }

  async write(end: RunEnd): Promise<AttemptOutcome> {
    if (this.writtenAs !== null) {
      throw new Error(
        `internal: the end of run ${this.lease.runId} was written already (${this.writtenAs}); it is not written again (${end.status})`,
      );
    }
    this.writtenAs = end.status;
    await this.store.finishRun(this.lease, end);
    return outcomeOf(end);
  }
}

/**
 * What the error that ended an attempt does to the run: its disposition, looked up. A process
 * shutting down releases the run whatever its guest then threw, unless it suspended or was
 * cancelled first.
 */
function dispositionOfEnd(err: unknown, shuttingDown: boolean): Disposition {
  const d = dispositionOf(err);
  if (d === "suspend" || d === "cancelled") return d;
  return shuttingDown ? "release" : d;
}

/**
 * What an attempt ends with: the end to write (null: nothing more may be written, the lease is
 * lost), what becomes of the journal's buffer (committed, committed if it can be, or dropped), and
 * what is thrown to the caller once the end is written.
 */
export type Ending =
  { end: RunEnd; journal: "commit" | "keep" | "discard"; thrown?: unknown } | { end: null; journal: "discard"; thrown: unknown };

export interface EndContext {
  previous: PreviousState;
  /** The attempt replays on an upgrade target (`dwe resume --upgrade`). */
  upgrading: boolean;
  /** The attempt was aborted from outside with ShutdownRequested (Ctrl-C, SIGTERM, a worker's stop). */
  shuttingDown: boolean;
  /** The stored error of a guest that failed (a trap, an exit code, out of memory). */
  failure: (err: unknown) => RunError;
}

/** The end of an attempt whose guest was stopped by `err` (thrown out of the guest or the journal), by its disposition. */
export function endOfError(err: unknown, c: EndContext): Ending {
  if (c.upgrading && err instanceof NonDeterminismError)
    return { end: released(c.previous), journal: "discard", thrown: new UpgradeRefused(err) };
  switch (dispositionOfEnd(err, c.shuttingDown)) {
    case "suspend":
      return { end: { status: "suspended", wakeAt: err instanceof Suspend ? err.wakeAt : null }, journal: "commit" };
    case "cancelled":
      return { end: { status: "cancelled", error: describeError(err) }, journal: "keep" };
    case "release":
      // Stopped from outside (Ctrl-C, SIGTERM): keep the journal and leave the run ready to resume.
      return { end: released(), journal: "keep" };
    // The run did nothing wrong when the store failed or another owner took over: never fail it
    // for that. A lost lease writes nothing more; a store error leaves the run to be retried.
    case "fenced":
      return { end: null, journal: "discard", thrown: err };
    case "retry":
      return { end: released(), journal: "discard" };
    case "terminal":
    default:
      // Keep what was journaled before the failure: it happened.
      return { end: { status: "failed", error: c.failure(err) }, journal: "keep" };
  }
}

/**
 * The end of an attempt that failed before its guest ran (the journal cannot be read, the module
 * cannot be loaded), the error thrown to the caller: the run is given back as it was (`dwe run`,
 * `dwe resume`: the caller reports the error), or, with `failRun` (a worker, which would otherwise
 * claim it again and again), failed with it.
 */
export function endBeforeGuest(err: unknown, previous: PreviousState, failRun: boolean): Ending {
  if (failRun && !(err instanceof LeaseLost))
    return { end: { status: "failed", error: describeError(err) }, journal: "discard", thrown: err };
  return { end: released(previous), journal: "discard", thrown: err };
}
