// Runs and schedules as JSON: what `dwe show --json`, `dwe runs --json`, `dwe schedule list --json`
// `dwe journal --json`, `dwe logs --json` and the HTTP API (docs/http-api.md) print, in one place so
// they never drift apart.
import type { JournalSummary } from "../store/types.js";
import type {
  AttemptInfo,
  LogLine,
  JournalEntryInfo,
  JournalView,
  RetryInfo,
  RetrySummary,
  RunDetails,
  RunInfo,
  ScheduleInfo,
  WaitInfo,
} from "./types.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes as JSON when they are JSON text, else as a string (or base64 when not UTF-8). */
export function bytesForJson(bytes: Uint8Array | null): unknown {
  if (bytes === null) return null;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { base64: Buffer.from(bytes).toString("base64") };
  }
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runJson(run: RunInfo, journal?: JournalSummary, children?: RunInfo[], retries?: RetrySummary[]): Record<string, unknown> {
  return {
    id: run.id,
    status: run.status,
    module: run.module,
    name: run.name,
    entry: run.entry,
    input: bytesForJson(run.input),
    output: bytesForJson(run.output),
    error: run.error && {
      code: run.error.code,
      message: run.error.message,
      ...(run.error.exitCode !== undefined && { exit_code: run.error.exitCode }),
    },
    created_at: iso(run.createdAt),
    updated_at: iso(run.updatedAt),
    finished_at: iso(run.finishedAt),
    wake_at: iso(run.wakeAt),
    attempts: run.attempts,
    parent: run.parentId,
    ...(run.config.forkedFrom && { forked_from: { run: run.config.forkedFrom.run, seq: run.config.forkedFrom.seq } }),
    ...(children && { children: children.map((c) => ({ id: c.id, status: c.status })) }),
    grants: run.config.grants,
    args: run.config.args,
    env: run.config.env,
    timeout_ms: run.config.timeoutMs,
    max_memory_bytes: run.config.maxMemoryBytes,
    // null: the default (docs/cli.md, `dwe show`)
    max_journal_entries: run.config.maxJournalEntries ?? null,
    max_journal_bytes: run.config.maxJournalBytes ?? null,
    child_limits: run.config.childLimits ?? null,
    ...(journal && { journal }),
    ...(retries &&
      retries.length > 0 && {
        retries: retries.map((r) => ({
          number: r.number,
          at: iso(r.at),
          from_seq: r.fromSeq,
          after_attempt: r.afterAttempt,
          cut: r.cut,
          error: r.error && { code: r.error.code, message: r.error.message },
        })),
      }),
  };
}

/** `dwe show --json`, `GET /api/runs/ID`: the run with its journal summary, children, retries, upgrades, wait and owner. */
export function runDetailsJson(d: RunDetails): Record<string, unknown> {
  return {
    ...runJson(d.run, d.journal, d.children, d.retries),
    upgrades: d.upgrades.map((u) => ({
      number: u.number,
      at: iso(u.at),
      from_module: u.fromModule,
      to_module: u.toModule,
      attempt: u.attempt,
    })),
    waiting_for: d.waitingFor && waitJson(d.waitingFor),
    owner: d.owner && { id: d.owner.id, lease_expires_at: iso(d.owner.leaseExpiresAt), state: d.owner.state },
  };
}

function waitJson(w: WaitInfo): Record<string, unknown> {
  const what = w.kind === "signal" ? { signal: w.signal } : w.kind === "child" ? { runs: w.runs } : { op: w.op };
  return { kind: w.kind, seq: w.seq, ...what, until: iso(w.until) };
}

export function scheduleJson(s: ScheduleInfo): Record<string, unknown> {
  return {
    name: s.name,
    cron: s.cron,
    tz: s.tz ?? "UTC",
    paused: s.paused,
    module: s.module,
    entry: s.entry,
    input: bytesForJson(s.input),
    next_tick: iso(s.nextTick),
    last_tick: iso(s.lastTick),
  };
}

/** `dwe journal --json`, `GET /api/runs/ID/journal`: the run's attempts and entries. */
export function journalJson(v: JournalView): Record<string, unknown> {
  return {
    run: v.run,
    status: v.status,
    attempts: v.attempts.map(attemptJson),
    entries: v.entries.map(entryJson),
    retries: v.retries.map(retryJson),
  };
}

export function retryJson(r: RetryInfo): Record<string, unknown> {
  return {
    number: r.number,
    at: iso(r.at),
    from_seq: r.fromSeq,
    after_attempt: r.afterAttempt,
    error: r.error && { code: r.error.code, message: r.error.message },
    cut: r.entries.map(entryJson),
  };
}

export function attemptJson(a: AttemptInfo): Record<string, unknown> {
  return {
    number: a.number,
    owner: a.owner,
    started_at: iso(a.startedAt),
    ended_at: iso(a.endedAt),
    duration_ms: a.durationMs,
    outcome: a.outcome,
    error: a.error && { code: a.error.code, message: a.error.message },
    live: a.live,
    crashed: a.crashed,
  };
}

export function entryJson(e: JournalEntryInfo): Record<string, unknown> {
  return {
    seq: e.seq,
    op: e.op,
    state: e.state,
    ...(e.pending !== undefined && { pending: e.pending }),
    bytes: e.bytes,
    attempt: e.attempt,
    started_at: iso(e.startedAt),
    ended_at: iso(e.endedAt),
    duration_ms: e.durationMs,
    ...("request" in e && { request: e.request }),
    ...("response" in e && { response: e.response }),
    ...("error" in e && { error: e.error }),
    ...("intent" in e && { intent: e.intent }),
  };
}

/** A log line as JSON (`dwe logs --json`, the HTTP API): `run` only when `withRun`; `cut`: the retry that cut it. */
export function logLineJson(l: LogLine, withRun: boolean): Record<string, unknown> {
  return {
    ...(withRun && { run: l.runId }),
    seq: l.seq,
    at: new Date(l.at).toISOString(),
    level: l.level,
    stream: l.stream,
    message: l.message,
    ...(l.cut !== undefined && { cut: l.cut }),
  };
}
