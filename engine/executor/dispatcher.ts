import { setTimeout as delay } from "node:timers/promises";
import {
  AbiViolation,
  BadRequest,
  CorruptJournal,
  GuestFailed,
  GuestVisibleError,
  JournalLimitReached,
  NonDeterminismError,
  ReplayEnd,
  RunTimeout,
  Suspend,
  describeError,
} from "../kernel/errors.js";
import { EntryState, type JournalEntry, KEPT_REQUEST_BYTES } from "../journal/entry.js";
import { digestRequest } from "../journal/hash.js";
import { decodeMsgpack, PAYLOAD_LIMITS, REQUEST_LIMITS, RefusedMsgpack } from "../kernel/msgpack-decoder.js";
import { OP_CODES, opName } from "../kernel/ops.js";
import { encode, type Dispatch, type Reply } from "../kernel/reply.js";
import type { JournalWriter } from "./journal-writer.js";
import type { RunProgress } from "./run-progress.js";
import type { RunRecord } from "../store/types.js";
import { NO_METRICS, NO_TRACER, type AttemptSpan, type Metrics, type SpanError } from "../telemetry/telemetry.js";
import { monotonicMs } from "../kernel/monotonic.js";
import type {
  EffectFunction,
  HostContext,
  HostFunction,
  HostResult,
  LiveOutput,
  RunServices,
  TimerFunction,
  WaitFunction,
} from "../kernel/host-function.js";

const NO_SERVICES: RunServices = {
  takeSignal: () => Promise.reject(new Error("internal: signals are not available here")),
  startChild: () => Promise.reject(new Error("internal: child runs are not available here")),
  child: () => Promise.reject(new Error("internal: child runs are not available here")),
};

const EMPTY = new Uint8Array(0);
const OK_NIL: Reply = { ok: true, bytes: EMPTY };

function errorReply(err: GuestVisibleError): Reply {
  return { ok: false, bytes: encode({ code: err.code, message: err.message }) };
}

export interface DispatcherOptions {
  /**
   * `execute` (default): calls past the journal are performed live and journaled. `verify`
   * (`dwe verify`): every call is answered from the journal and checked against it; the first call
   * it cannot answer throws ReplayEnd, and nothing is ever performed or journaled.
   */
  mode?: "execute" | "verify";
  /** Told after each call answered from the journal: how many entries were answered, and whether that was all of them. */
  onReplayed?: (replayed: number, consumedAll: boolean) => void;
  run: RunRecord;
  cwd: string;
  journal: JournalWriter;
  /** The run's journal as recorded; answered first, in order. */
  recorded: readonly JournalEntry[];
  functions: ReadonlyMap<string, HostFunction<never>>;
  /** Sleeps longer than this suspend the run instead of waiting in memory. */
  suspendAfterMs: number;
  signal: AbortSignal;
  /** Absolute time after which the run is stopped (null: never). */
  deadline: number | null;
  /** Awaited once, just before the first call that is not answered from the journal. */
  onReplayEnd?: () => Promise<void>;
  /**
   * Stops the run at its next host call or wait, letting an effect in flight finish and be journaled
   * (worker shutdown, cancellation); the reason is thrown out of the guest.
   */
  stop?: AbortSignal;
  /**
   * Called synchronously at every host call and before an effect's intent is written; it may abort
   * `stop`. A worker's executor thread reads its process's stop flag here (shared memory): a thread
   * busy in guest code or replay reads its messages late, and must not start an effect meanwhile.
   */
  pollStop?: () => void;
  /** Signals and child runs (for `signal.wait`, `child.*`). */
  services?: RunServices;
  /** The run's cap on journal entries: a live call past it fails the run with `journal_limit` (default: none). */
  maxEntries?: number;
  /** Where a command's output is shown as it runs (exec with `live`); unset: nowhere. */
  live?: LiveOutput;
  /** Host-call latency and replay duration go here (default: nowhere). */
  metrics?: Metrics;
  /** The attempt's span: live effects, sleeps and waits get a child span (default: none). */
  span?: AttemptSpan;
  /** Told of every journaled call, for a status line (`dwe run` on a terminal; default: nothing). */
  progress?: RunProgress;
}

/** The part of a HostContext that is the same for every call of a run. */
type RunContext = Pick<HostContext, "runId" | "grants" | "cwd" | "signal" | "services" | "live" | "setOutput">;

/**
 * One call's HostContext: a small object per live call (it is made for every one, `clock.now`
 * included), the idempotency key made only if a host function asks for it.
 */
class CallContext implements HostContext {
  constructor(
    private readonly run: RunContext,
    readonly seq: number,
    readonly traceparent: string | undefined,
  ) {}
  get runId(): string {
    return this.run.runId;
  }
  get key(): string {
    return `${this.run.runId}:${this.seq}`;
  }
  get grants(): HostContext["grants"] {
    return this.run.grants;
  }
  get cwd(): string {
    return this.run.cwd;
  }
  get signal(): AbortSignal {
    return this.run.signal;
  }
  get services(): HostContext["services"] {
    return this.run.services;
  }
  get live(): HostContext["live"] {
    return this.run.live;
  }
  setOutput(bytes: Uint8Array): void {
    this.run.setOutput(bytes);
  }
}

/**
 * The one journaling path: every host call of a run goes through `call`, which answers it from the
 * journal during replay (checking for divergence) and otherwise performs it live under the commit
 * rule of its kind.
 */
export class Dispatcher implements Dispatch {
  private seq = 0;
  private answered = 0;
  private replayEnded: boolean;
  /** Set while answering a call that cannot wait (no backpressure then). */
  private mustAnswerNow = false;
  private readonly maxEntries: number;
  private readonly metrics: Metrics;
  private readonly span: AttemptSpan;
  private readonly progress: RunProgress | null;
  /** When the instance began (monotonicMs()), until the replay's end was measured (then null). */
  private replayStart: number | null;
  output: Uint8Array | null = null;
  /** What every call's HostContext shares. */
  private readonly context: RunContext;

  constructor(private readonly o: DispatcherOptions) {
    this.replayEnded = o.recorded.length === 0 && !o.onReplayEnd;
    this.maxEntries = o.maxEntries ?? Infinity;
    this.metrics = o.metrics ?? NO_METRICS;
    this.span = o.span ?? NO_TRACER.attempt({ id: o.run.id, attempt: 0 });
    this.replayStart = o.recorded.length > 0 ? monotonicMs() : null;
    this.progress = o.progress ?? null;
    this.progress?.begin(o.recorded.length);
    this.context = {
      runId: o.run.id,
      grants: o.run.config.grants,
      cwd: o.cwd,
      signal: o.signal,
      services: o.services ?? NO_SERVICES,
      live: o.live,
      setOutput: (bytes) => {
        this.output = bytes;
      },
    };
  }

  /** Measures the replay once it ended (the first live call, or the end of the run). */
  private replayMeasured(): void {
    if (this.replayStart === null) return;
    this.metrics.observe("replay_seconds", (monotonicMs() - this.replayStart) / 1000);
    this.span.replayed(this.answered);
    this.replayStart = null;
  }

  /** True while calls are still being answered from the journal. */
  get replaying(): boolean {
    return this.seq < this.o.recorded.length;
  }

  /** Journal entries answered so far (in execute mode, until the replay ended). */
  get replayed(): number {
    return this.answered;
  }

  call(op: string, request: Uint8Array): Reply | Promise<Reply> {
    if (this.o.deadline !== null && Date.now() > this.o.deadline) throw new RunTimeout(this.o.run.id, this.o.run.config.timeoutMs ?? 0);
    if (this.o.signal.aborted) throw this.o.signal.reason;
    this.throwIfStopped();
    switch (op) {
      case "run.input":
        return { ok: true, bytes: encode(this.o.run.input) };
      case "run.info":
        return { ok: true, bytes: encode({ id: this.o.run.id, entry: this.o.run.entry }) };
      case "run.key":
        return { ok: true, bytes: encode(`${this.o.run.id}:${this.seq + 1}`) };
      case "run.fail":
        return this.fail(request);
    }
    const fn = this.o.functions.get(op);
    if (!fn)
      throw new AbiViolation(`the guest called unknown operation '${op.slice(0, 64)}'; see docs/abi.md for the operations of ABI v1`);
    const code = OP_CODES[fn.name];
    const seq = ++this.seq;
    const digest = digestRequest(code, request);
    const recorded = this.o.recorded[seq - 1];
    if (recorded) {
      if (recorded.op !== code || recorded.digest !== digest) {
        throw new NonDeterminismError(this.o.run.id, seq, describeRecorded(recorded), describeCall(op, request));
      }
      if (recorded.state !== EntryState.Intent) {
        if (fn.kind === "note" && fn.replay && recorded.state === EntryState.Ok)
          fn.replay(this.ctx(seq), this.parse(fn, op, request) as never);
        this.answered = seq;
        this.progress?.replayed(seq, code);
        this.o.onReplayed?.(seq, seq >= this.o.recorded.length);
        return { ok: recorded.state === EntryState.Ok, bytes: recorded.payload };
      }
    }
    if (this.o.mode === "verify") throw new ReplayEnd(seq, recorded !== undefined);
    if (seq > this.maxEntries) throw new JournalLimitReached(this.o.run.id, `${this.maxEntries} entries`, "--max-journal-entries");
    this.progress?.live(code);
    if (!this.replayEnded) {
      this.replayEnded = true;
      if (this.o.onReplayEnd) return this.o.onReplayEnd().then(() => this.live(fn, seq, code, digest, op, request, recorded));
    }
    if (this.o.journal.backlogged && !this.mustAnswerNow) {
      return this.o.journal.commit().then(() => this.live(fn, seq, code, digest, op, request, recorded));
    }
    return this.live(fn, seq, code, digest, op, request, recorded);
  }

  /** Throws the stop's reason once the run was asked to stop (see `stop`, `pollStop`). */
  private throwIfStopped(): void {
    this.o.pollStop?.();
    if (this.o.stop?.aborted) throw this.o.stop.reason;
  }

  /** Called when the entry function returned: a recorded entry left over is divergence. */
  async finish(): Promise<void> {
    this.replayMeasured();
    const next = this.o.recorded[this.seq];
    if (next) {
      throw new NonDeterminismError(
        this.o.run.id,
        this.seq + 1,
        describeRecorded(next),
        "nothing more (the code returned before making this call)",
      );
    }
    if (!this.replayEnded) {
      this.replayEnded = true;
      await this.o.onReplayEnd?.();
    }
  }

  /** Journals a call made by the host on the guest's behalf (for example AssemblyScript's `env.seed`). */
  callSync(op: string, request: Uint8Array): Reply {
    this.mustAnswerNow = true;
    let r: Reply | Promise<Reply>;
    try {
      r = this.call(op, request);
    } finally {
      this.mustAnswerNow = false;
    }
    if (r instanceof Promise) throw new Error(`internal: ${op} must answer synchronously`);
    return r;
  }

  private fail(request: Uint8Array): never {
    const value = request.length === 0 ? null : decodeRequest("run.fail", request);
    const v = (value ?? {}) as { message?: unknown; code?: unknown };
    const message = typeof v.message === "string" ? v.message : typeof value === "string" ? value : "the workflow failed";
    const code = typeof v.code === "string" && /^[a-z0-9_.-]{1,64}$/i.test(v.code) ? v.code : "guest_failed";
    throw new GuestFailed(code, message);
  }

  /** The data an intent was committed with (null: none), as the engine journaled it. */
  private intentOf(e: JournalEntry): unknown {
    if (e.payload.length === 0) return null;
    try {
      return decodeMsgpack(e.payload, PAYLOAD_LIMITS);
    } catch (err) {
      if (!(err instanceof RefusedMsgpack)) throw err;
      throw new CorruptJournal(`run ${this.o.run.id}: the intent journaled at seq ${e.seq} cannot be decoded (${err.message})`, e.seq);
    }
  }

  private ctx(seq: number, traceparent?: string): HostContext {
    return new CallContext(this.context, seq, traceparent);
  }

  private parse(fn: HostFunction<never>, op: string, request: Uint8Array): unknown {
    return fn.parse(request.length === 0 ? null : decodeRequest(op, request));
  }

  /**
   * A call performed live, measured: its latency by op, and for an effect, sleep or wait a span
   * (whose trace context HTTP effects pass on as `traceparent`; see docs/observability.md).
   */
  private live(
    fn: HostFunction<never>,
    seq: number,
    code: number,
    digest: number,
    op: string,
    request: Uint8Array,
    inFlight: JournalEntry | undefined,
  ): Reply | Promise<Reply> {
    this.replayMeasured();
    // Timed only when someone records it: this is every live call's path.
    const started = this.metrics === NO_METRICS ? 0 : monotonicMs();
    const step =
      fn.kind === "effect" || fn.kind === "timer" || fn.kind === "wait" ? this.span.step(fn.kind, op, seq, inFlight !== undefined) : null;
    // Nothing to measure (no metrics, a call without a span): the call as it is, no closures.
    if (step === null && this.metrics === NO_METRICS) return this.perform(fn, seq, code, digest, op, request, inFlight, undefined);
    const ended = (error: SpanError | undefined) => {
      if (this.metrics !== NO_METRICS) this.metrics.observe("host_call_seconds", (monotonicMs() - started) / 1000, op);
      step?.end(error);
    };
    let reply: Reply | Promise<Reply>;
    try {
      reply = this.perform(fn, seq, code, digest, op, request, inFlight, step?.traceparent);
    } catch (err) {
      ended(spanErrorOf(err));
      throw err;
    }
    if (!(reply instanceof Promise)) {
      ended(replyError(reply));
      return reply;
    }
    return reply.then(
      (r) => {
        ended(replyError(r));
        return r;
      },
      (err: unknown) => {
        ended(spanErrorOf(err));
        throw err;
      },
    );
  }

  private perform(
    fn: HostFunction<never>,
    seq: number,
    code: number,
    digest: number,
    op: string,
    request: Uint8Array,
    inFlight: JournalEntry | undefined,
    traceparent: string | undefined,
  ): Reply | Promise<Reply> {
    const ctx = this.ctx(seq, traceparent);
    const call: LiveCall = {
      seq,
      code,
      digest,
      startedAt: Date.now(),
      request: request.length <= KEPT_REQUEST_BYTES ? request : undefined,
    };
    let value: never;
    try {
      value = this.parse(fn, op, request) as never;
    } catch (err) {
      if (!(err instanceof GuestVisibleError)) throw err;
      const reply = errorReply(err);
      this.o.journal.add(outcome(call, reply));
      return reply;
    }
    switch (fn.kind) {
      case "read":
      case "note": {
        // A note without `perform` (log) is answered nil.
        const reply = this.answer(() => (fn.kind === "read" ? fn.perform(ctx, value) : fn.perform?.(ctx, value)));
        if (reply instanceof Promise) throw new Error(`internal: ${op} is journaled as ${fn.kind} but answered asynchronously`);
        const line = reply.ok && fn.kind === "note" && fn.logLine ? fn.logLine(value) : undefined;
        this.o.journal.add(
          outcome(call, reply),
          line && { seq, level: line.level, message: line.message, stream: line.stream, at: Date.now(), data: line.data },
        );
        return reply;
      }
      case "effect":
        return this.effect(fn, ctx, value, call, inFlight);
      case "timer":
        return this.timer(fn, ctx, value, call, inFlight);
      case "wait":
        return this.wait(fn, ctx, value, call, inFlight);
    }
  }

  /** The reply to a call `perform` answers: its value, or the error the guest sees. */
  private answer(perform: () => HostResult): Reply | Promise<Reply> {
    try {
      const r = perform();
      if (r instanceof Promise) {
        return r.then(
          (v) => ({ ok: true, bytes: encode(v) }),
          (err: unknown) => {
            if (err instanceof GuestVisibleError) return errorReply(err);
            throw err;
          },
        );
      }
      return r === undefined ? OK_NIL : { ok: true, bytes: encode(r) };
    } catch (err) {
      if (err instanceof GuestVisibleError) return errorReply(err);
      throw err;
    }
  }

  private async effect(
    fn: EffectFunction<never>,
    ctx: HostContext,
    value: never,
    call: LiveCall,
    inFlight: JournalEntry | undefined,
  ): Promise<Reply> {
    // Also here, not only at the call: a commit or the replay's end may have been awaited since.
    // An effect whose intent is committed is in flight: it is performed and its result journaled.
    this.throwIfStopped();
    const seq = ctx.seq;
    // `afterIntent`: the entry completes the intent journaled (here or by an earlier attempt).
    const done = (reply: Reply, afterIntent = true): Reply => {
      this.o.journal.add(afterIntent ? completion(call, reply) : outcome(call, reply));
      return reply;
    };
    // At-least-once with the same key on a redo: a crash before its result is committed only means
    // it is done again, so its result waits for the next commit. Before it, the commit of what is
    // buffered (which its request may depend on) is the fenced write that proves the lease; with
    // nothing buffered, its intent is that write.
    const redoSafe = fn.redoSafe?.(value) === true;
    if (redoSafe && !inFlight && this.o.journal.holdsUnwritten) {
      await this.o.journal.commitBeforeEffect();
      return done(await this.answer(() => fn.perform(ctx, value)), false);
    }
    if (inFlight) {
      // The process died while this effect was running: its outcome is unknown.
      const recorded = this.intentOf(inFlight);
      const verdict = fn.recover ? fn.recover(ctx, value, recorded) : "redo";
      if (verdict !== "redo") {
        await this.o.journal.commit();
        return done({ ok: true, bytes: encode(verdict.done) });
      }
      if (fn.atMostOnce?.(value)) {
        return done(
          errorReply(
            new GuestVisibleError(
              "outcome_unknown",
              `${fn.name} (seq ${seq}) was in flight when the run stopped; it was not repeated (at_most_once)`,
            ),
          ),
        );
      }
      // Redone: write the intent again, so the fenced write before the effect refuses an attempt
      // whose lease was taken (the intent may be another worker's, found in flight).
      this.o.journal.add(intent(call, inFlight.payload));
    } else {
      let payload: Uint8Array;
      try {
        payload = fn.intent ? encode(fn.intent(ctx, value)) : EMPTY;
      } catch (err) {
        if (err instanceof GuestVisibleError) return done(errorReply(err), false);
        throw err;
      }
      this.o.journal.add(intent(call, payload));
    }
    await this.o.journal.commitBeforeEffect();
    const reply = done(await this.answer(() => fn.perform(ctx, value)));
    if (!redoSafe) await this.o.journal.commit();
    return reply;
  }

  private async timer(
    fn: TimerFunction<never>,
    ctx: HostContext,
    value: never,
    call: LiveCall,
    inFlight: JournalEntry | undefined,
  ): Promise<Reply> {
    let until: number;
    // Whether the sleep suspends is decided by what is left of it when it is called (or resumed),
    // not after its deadline's commit: a slow commit (a loaded disk) must not turn a sleep longer
    // than --suspend-after into one waited in memory.
    let left: number;
    if (inFlight) {
      until = Number((this.intentOf(inFlight) as { until?: unknown } | null)?.until);
      if (Number.isNaN(until))
        throw new CorruptJournal(`run ${this.o.run.id}: the intent of ${fn.name} (seq ${ctx.seq}) has no deadline`, ctx.seq);
      left = until - Date.now();
    } else {
      until = fn.deadline(ctx, value);
      left = until - Date.now();
      this.o.journal.add(intent(call, encode({ until: BigInt(until) })));
      await this.o.journal.commit();
    }
    if (left > this.o.suspendAfterMs) throw new Suspend(until);
    const remaining = until - Date.now();
    if (remaining > 0) {
      await delay(remaining, undefined, { signal: this.o.stop ? AbortSignal.any([this.o.signal, this.o.stop]) : this.o.signal }).catch(
        (err: unknown) => {
          // Interrupted: throw why (shutdown, cancellation, timeout), not the timer's AbortError.
          throw this.o.stop?.aborted ? this.o.stop.reason : this.o.signal.aborted ? this.o.signal.reason : err;
        },
      );
    }
    this.o.journal.add(completion(call, OK_NIL));
    return OK_NIL;
  }

  /**
   * A durable wait (signal, child): the deadline is committed as an intent; then `poll` looks for
   * what is awaited. Found: journaled and returned. Past the deadline: the error `timeout`.
   * Otherwise the run suspends (holding no memory) until the deadline or until it is woken.
   */
  private async wait(
    fn: WaitFunction<never>,
    ctx: HostContext,
    value: never,
    call: LiveCall,
    inFlight: JournalEntry | undefined,
  ): Promise<Reply> {
    let until: number | null;
    if (inFlight) {
      const recorded = (this.intentOf(inFlight) ?? {}) as { until?: number | bigint | null };
      until = recorded.until === undefined || recorded.until === null ? null : Number(recorded.until);
    } else {
      until = fn.deadline(ctx, value);
      this.o.journal.add(intent(call, encode({ until: until === null ? null : BigInt(until) })));
      await this.o.journal.commit();
    }
    const done = async (reply: Reply): Promise<Reply> => {
      this.o.journal.add(completion(call, reply));
      await this.o.journal.commit();
      return reply;
    };
    let found: unknown;
    try {
      found = await fn.poll(ctx, value);
    } catch (err) {
      if (err instanceof GuestVisibleError) return done(errorReply(err));
      throw err;
    }
    if (found !== undefined) return done({ ok: true, bytes: encode(found) });
    if (until !== null && Date.now() >= until) {
      return done(
        errorReply(new GuestVisibleError("timeout", `${fn.name} (seq ${ctx.seq}) timed out at ${new Date(until).toISOString()}`)),
      );
    }
    throw new Suspend(until);
  }
}

/** A call made live: what its journal entries are written with. */
interface LiveCall {
  seq: number;
  code: number;
  digest: number;
  /** When the guest made the call (ms since the epoch). */
  startedAt: number;
  /** The request, when it is small enough to keep (KEPT_REQUEST_BYTES). */
  request: Uint8Array | undefined;
}

/** The intent of a live call: started now, no end yet. */
function intent(c: LiveCall, payload: Uint8Array): JournalEntry {
  return { seq: c.seq, op: c.code, digest: c.digest, state: EntryState.Intent, payload, startedAt: c.startedAt, request: c.request };
}

/** The outcome of a live call journaled without an intent (a read, a note, a refused request): started and ended. */
function outcome(c: LiveCall, reply: Reply): JournalEntry {
  const state = reply.ok ? EntryState.Ok : EntryState.Err;
  return {
    seq: c.seq,
    op: c.code,
    digest: c.digest,
    state,
    payload: reply.bytes,
    startedAt: c.startedAt,
    endedAt: Date.now(),
    request: c.request,
  };
}

/**
 * The outcome that completes an intent, ended now: the store keeps the intent's start and request
 * (also those of an intent an earlier attempt wrote: a sleep's start is when it was first called).
 */
function completion(c: LiveCall, reply: Reply): JournalEntry {
  return {
    seq: c.seq,
    op: c.code,
    digest: c.digest,
    state: reply.ok ? EntryState.Ok : EntryState.Err,
    payload: reply.bytes,
    endedAt: Date.now(),
  };
}

/** What a span records of a call that threw: nothing for a suspension (not a failure), else the error. */
function spanErrorOf(err: unknown): SpanError | undefined {
  if (err instanceof Suspend) return undefined;
  const { code, message } = describeError(err);
  return { code, message };
}

/** The error value of a reply the guest gets as an error (`{code, message}`), for its span. */
function replyError(reply: Reply): SpanError | undefined {
  if (reply.ok) return undefined;
  try {
    const v = decodeMsgpack(reply.bytes, PAYLOAD_LIMITS) as { code?: unknown; message?: unknown } | null;
    return { code: typeof v?.code === "string" ? v.code : "error", message: typeof v?.message === "string" ? v.message : "" };
  } catch {
    return { code: "error", message: "" };
  }
}

/** A guest's request, decoded within the ABI's limits (docs/abi.md); anything else is `bad_request`. */
function decodeRequest(op: string, request: Uint8Array): unknown {
  try {
    return decodeMsgpack(request, REQUEST_LIMITS);
  } catch (err) {
    if (err instanceof RefusedMsgpack)
      throw new BadRequest(
        op,
        `the request is not valid MessagePack within the ABI's limits: ${err.message} (docs/abi.md, "Encoding rules")`,
      );
    throw err;
  }
}

/** Requests longer than this are shown by size only in a divergence message. */
const MAX_SHOWN_REQUEST = 4096;

function describeRecorded(e: JournalEntry): string {
  return `${opName(e.op)} (request digest ${e.digest.toString(16).padStart(8, "0")})`;
}

function describeCall(op: string, request: Uint8Array): string {
  let shown = "";
  try {
    shown =
      request.length === 0
        ? ""
        : request.length > MAX_SHOWN_REQUEST
          ? ` <${request.length} bytes>`
          : " " +
            JSON.stringify(decodeMsgpack(request, REQUEST_LIMITS), (_k, v: unknown) =>
              typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `<${v.length} bytes>` : v,
            );
  } catch {
    shown = ` <${request.length} bytes>`;
  }
  if (shown.length > 160) shown = shown.slice(0, 157) + "...";
  const code = (OP_CODES as Record<string, number>)[op];
  const digest = code === undefined ? "" : ` (request digest ${digestRequest(code, request).toString(16).padStart(8, "0")})`;
  return `${op}${shown}${digest}`;
}
