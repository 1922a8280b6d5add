// A run's journal entry by entry, decoded for people and programs (`dwe journal`, `GET /api/runs/ID/journal`):
// each entry with its request (as the guest sent it, when stored), its response or intent, its
// times and the attempt that wrote it; the run's attempts, with their crash points.
import { RunNotFound, UsageError } from "../kernel/errors.js";
import { PAYLOAD_LIMITS, decodeMsgpack } from "../kernel/msgpack-decoder.js";
import { opName } from "../kernel/ops.js";
import { EntryState, type JournalRecord } from "../journal/entry.js";
import { liveLeaseHolder } from "../store/lease-owner.js";
import type { AttemptRecord, RunRecord, Store } from "../store/types.js";
import { REDACTED, isSecretName, redactUrl } from "./redact.js";
import type { AttemptInfo, JournalEntryInfo, JournalOptions, JournalView, RetryInfo } from "./types.js";

/** What a summary keeps of a long string, byte string or array (`full: false`). */
const SHORT_TEXT = 200;
const SHORT_ITEMS = 20;
const MAX_DEPTH = 8;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(s: string, full: boolean): string {
  return full || s.length <= SHORT_TEXT ? s : `${s.slice(0, SHORT_TEXT)}… (${s.length} characters)`;
}

/** A decoded payload as plain JSON: bytes as their UTF-8 text (or `{bytes: N}`), long values shortened unless `full`. */
function summarize(v: unknown, full: boolean, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return text(v, full);
  if (typeof v === "number" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) {
    try {
      return { text: text(utf8.decode(v), full) };
    } catch {
      return { bytes: v.length, ...(full && { base64: Buffer.from(v).toString("base64") }) };
    }
  }
  if (depth >= MAX_DEPTH) return "…";
  if (Array.isArray(v)) {
    const items = full ? v : v.slice(0, SHORT_ITEMS);
    const out = items.map((x) => summarize(x, full, depth + 1));
    if (items.length < v.length) out.push(`… (${v.length} items)`);
    return out;
  }
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // Credentials (an Authorization header, a cookie, a password in a URL) are never shown: redact.ts.
      if (x !== null && x !== undefined && isSecretName(k)) out[k] = REDACTED;
      else if (k === "url" && typeof x === "string") out[k] = text(redactUrl(x), full);
      else out[k] = summarize(x, full, depth + 1);
    }
    return out;
  }
  return typeof v; // a function or symbol: never in decoded MessagePack
}

const STATES = { [EntryState.Intent]: "intent", [EntryState.Ok]: "ok", [EntryState.Err]: "error" } as const;

/** A payload or request decoded and summarized; an undecodable one is reported, not thrown. */
function decoded(bytes: Uint8Array, full: boolean): unknown {
  try {
    return bytes.length === 0 ? null : summarize(decodeMsgpack(bytes, PAYLOAD_LIMITS), full);
  } catch {
    return { undecodable: bytes.length };
  }
}

/** Which attempts are executing now and which crashed, given the run as it is now. */
export function attemptInfos(run: RunRecord, attempts: readonly AttemptRecord[], now: number): AttemptInfo[] {
  const last = attempts[attempts.length - 1];
  const holderLive = run.status === "running" && liveLeaseHolder(run, now) !== null;
  return attempts.map((a) => {
    const live = a === last && a.outcome === null && holderLive && a.owner === run.leaseOwner;
    return {
      number: a.number,
      owner: a.owner,
      startedAt: a.startedAt,
      endedAt: a.endedAt,
      durationMs: a.endedAt === null ? null : a.endedAt - a.startedAt,
      outcome: a.outcome,
      error: a.error,
      live,
      crashed: a.outcome === null && !live,
    };
  });
}

/** One entry as the API shows it, its intent (if it is one) placed by what became of its attempt. */
export function journalEntryInfo(
  e: JournalRecord,
  full: boolean,
  place: { run: RunRecord; attempts: ReadonlyMap<number, AttemptInfo>; lastSeq: number },
): JournalEntryInfo {
  const value = decoded(e.payload, full);
  const state = STATES[e.state];
  const info: JournalEntryInfo = {
    seq: e.seq,
    op: opName(e.op),
    state,
    bytes: e.payload.length,
    ...(e.request !== null && { request: decoded(e.request, full) }),
    ...(state === "ok" && { response: value }),
    ...(state === "error" && { error: value }),
    ...(state === "intent" && { intent: value }),
    startedAt: e.startedAt,
    endedAt: e.endedAt,
    durationMs: e.startedAt !== null && e.endedAt !== null ? e.endedAt - e.startedAt : null,
    attempt: e.attempt,
  };
  if (state === "intent") info.pending = pendingOf(e, place);
  return info;
}

function pendingOf(
  e: JournalRecord,
  { run, attempts, lastSeq }: { run: RunRecord; attempts: ReadonlyMap<number, AttemptInfo>; lastSeq: number },
): NonNullable<JournalEntryInfo["pending"]> {
  const a = e.attempt === null ? undefined : attempts.get(e.attempt);
  if (a?.live === true) return "in-flight";
  if (a === undefined && run.status === "running" && liveLeaseHolder(run, Date.now()) !== null) return "in-flight";
  if (run.status === "suspended" && (a === undefined ? e.seq === lastSeq : a.outcome === "suspended")) return "waiting";
  return "no-result";
}

/** The run's attempts and its journal from `o.from` (default 1), decoded. RunNotFound if there is no such run. */
export async function readJournalView(store: Store, runId: string, o: JournalOptions): Promise<JournalView> {
  const from = checkFrom(o.from);
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  return journalView(store, run, from, o.full === true);
}

/** The view of `run` as stored now (the run's row read before its journal, so no entry is missed). */
export async function journalView(store: Store, run: RunRecord, from: number, full: boolean): Promise<JournalView> {
  const attempts = attemptInfos(run, await store.listAttempts(run.rid), Date.now());
  const records = await store.readJournalRecords(run.rid, from);
  const place = { run, attempts: new Map(attempts.map((a) => [a.number, a])), lastSeq: records[records.length - 1]?.seq ?? 0 };
  const retries = (await store.listRetries(run.rid)).map((r): RetryInfo => ({
    number: r.number,
    at: r.at,
    fromSeq: r.fromSeq,
    afterAttempt: r.afterAttempt,
    error: r.error,
    entries: r.entries.map((e) => journalEntryInfo(e, full, { ...place, lastSeq: -1 })),
  }));
  return { run: run.id, status: run.status, attempts, entries: records.map((e) => journalEntryInfo(e, full, place)), retries };
}

export function checkFrom(from: number | undefined): number {
  const f = from ?? 1;
  if (!Number.isSafeInteger(f) || f < 1) throw new UsageError(`bad --from '${f}': expected a journal seq, a whole number from 1`);
  return f;
}
