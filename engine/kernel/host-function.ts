import type { Grants } from "./grants.js";
import type { OpName } from "./ops.js";

/**
 * How a host function is journaled; this alone decides the commit rule (docs/architecture.md):
 * - `read`: result journaled, batched commit (clock, random, file reads).
 * - `note`: local write with no effect outside the journal (log, output), batched commit.
 * - `effect`: leaves the process (HTTP, exec, file writes): everything before it and an intent are
 *   committed first, then it runs, then its result is committed. A `redoSafe` effect (at-least-once,
 *   same key on a redo) costs one commit: what is buffered before it, or its intent when nothing is;
 *   its result goes with the next commit.
 * - `timer`: durable sleep: its deadline is committed as an intent, then it waits or suspends.
 * - `wait`: durable wait for something outside the run (a signal, a child run): its deadline is
 *   committed as an intent, then `poll` looks; when nothing is there yet the run suspends and is
 *   replayed when woken (docs/worker.md).
 */
export type EffectKind = "read" | "note" | "effect" | "timer" | "wait";

/** A child run as seen by its parent. */
export interface ChildState {
  id: string;
  status: string;
  output: Uint8Array | null;
  error: { code: string; message: string } | null;
}

/** What the engine offers host functions beyond the journal: signals and child runs, fenced by the run's lease. */
export interface RunServices {
  /** The signal consumed by journal position `seq` (the same one on every replay), or undefined if none is there yet. */
  takeSignal(name: string, seq: number): Promise<{ id: number; name: string; data: Uint8Array } | undefined>;
  /** Creates child `<run-id>.<seq>` (or finds it after a crash); returns its id. */
  startChild(seq: number, req: { module: string | null; entry: string; input: Uint8Array }): Promise<string>;
  /** A child of this run, or undefined if `id` is not one. */
  child(id: string): Promise<ChildState | undefined>;
}

/** What a host function can see and do while it runs. */
export interface HostContext {
  readonly runId: string;
  /** Journal position of this call. */
  readonly seq: number;
  /** Stable idempotency key of this call: `<run-id>:<seq>`. */
  readonly key: string;
  readonly grants: Grants;
  /** Host directory that relative host paths (for example exec's cwd) resolve against. */
  readonly cwd: string;
  /** Aborted when the run is cancelled, times out or the process shuts down. */
  readonly signal: AbortSignal;
  /** Sets the run's output (the last one wins). */
  setOutput(bytes: Uint8Array): void;
  /** Signals and child runs (for `wait` kinds and `child.start`). */
  readonly services: RunServices;
  /**
   * Where output shown while a call runs goes (exec with `live`): set when this process prints the
   * run's output; never called on replay, where nothing runs.
   */
  readonly live?: LiveOutput;
  /**
   * W3C trace context of this call's span (`00-TRACE-SPAN-FLAGS`) when traces are exported: HTTP
   * effects send it as `traceparent`. Not part of the journaled request (docs/observability.md).
   */
  readonly traceparent?: string;
}

/** Prints a command's output as it runs: `stdout` to dwe's stdout, `stderr` to its stderr. */
export type LiveOutput = (stream: "stdout" | "stderr", data: Uint8Array) => void;

/** Why the run was stopped: the abort reason (RunCancelled, ShutdownRequested, a timeout), thrown as is. */
export function stopReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error("the run was stopped");
}

/** Result of a host function: any msgpack-encodable value (`undefined` becomes nil). */
export type HostResult = unknown;

/** What every kind has: its operation and how its request is read. */
interface HostFunctionBase<Req> {
  readonly name: OpName;
  /** Validates the decoded request; throws BadRequest on a malformed one. */
  parse(request: unknown): Req;
}

/** `read`: answered at once and journaled, committed in batches (clock, random, file reads). */
export interface ReadFunction<Req = unknown> extends HostFunctionBase<Req> {
  readonly kind: "read";
  /** Answers the call, synchronously. Throws GuestVisibleError for errors the guest should see. */
  perform(ctx: HostContext, request: Req): HostResult;
}

/** `note`: a write with no effect outside the run (log, output), committed in batches like reads. */
export interface NoteFunction<Req = unknown> extends HostFunctionBase<Req> {
  readonly kind: "note";
  /** Does what the note does to the run (e.g. sets its output), synchronously; without it the answer is nil. */
  perform?(ctx: HostContext, request: Req): HostResult;
  /** Called on replay of a completed entry, for notes whose effect is on the run itself (output). */
  replay?(ctx: HostContext, request: Req): void;
  /** The line this call adds to the run's logs (`data`: the exact bytes, for printing WASI stdout/stderr). */
  logLine?(request: Req): { level: string; message: string; stream: string; data?: Uint8Array };
}

/** `effect`: leaves the process (HTTP, exec, file writes); an intent is committed before it runs. */
export interface EffectFunction<Req = unknown> extends HostFunctionBase<Req> {
  readonly kind: "effect";
  /** Performs the call live (may be a Promise). Throws GuestVisibleError for errors the guest should see. */
  perform(ctx: HostContext, request: Req): HostResult;
  /** Data committed with the intent, handed to `recover` after a crash (e.g. a file size). */
  intent?(ctx: HostContext, request: Req): HostResult;
  /**
   * Decides what to do about an intent without a result found on resume. Return `{ done: value }`
   * when the effect is known to have happened, `"redo"` to perform it again. Without this hook the
   * effect is redone (at-least-once) unless `atMostOnce(request)`.
   */
  recover?(ctx: HostContext, request: Req, intent: unknown): { done: HostResult } | "redo";
  /** True when the guest asked this call to be at-most-once. */
  atMostOnce?(request: Req): boolean;
  /**
   * True when performing this request again after a crash is what it promises (at-least-once, with
   * the same idempotency key; or idempotent, as a write at an offset). Such a call gets no intent of
   * its own when the run has something buffered (committing that fences it), and its result is
   * committed with the next commit, not on its own: one durable commit per effect instead of two
   * (docs/architecture.md, "Commit rules"; docs/reliability.md, "What a crash can cause").
   */
  redoSafe?(request: Req): boolean;
}

/** `timer`: a durable sleep: its deadline is committed as an intent, then it waits or suspends. */
export interface TimerFunction<Req = unknown> extends HostFunctionBase<Req> {
  readonly kind: "timer";
  /** The absolute deadline (epoch ms) the timer waits for. */
  deadline(ctx: HostContext, request: Req): number;
}

/** `wait`: a durable wait for something outside the run (a signal, a child run). */
export interface WaitFunction<Req = unknown> extends HostFunctionBase<Req> {
  readonly kind: "wait";
  /** The absolute deadline (epoch ms) committed with the intent; null waits without limit. */
  deadline(ctx: HostContext, request: Req): number | null;
  /** The result if what is awaited is there (undefined: not yet). Throws GuestVisibleError for errors. */
  poll(ctx: HostContext, request: Req): Promise<HostResult>;
}

/** A host function: its kind decides its commit rule and exactly which hooks it has. */
export type HostFunction<Req = unknown> =
  ReadFunction<Req> | NoteFunction<Req> | EffectFunction<Req> | TimerFunction<Req> | WaitFunction<Req>;
