// A run's journal entry by entry, decoded for people and programs (`GET /api/runs/ID/journal`).
// The journal keeps each call's response (or, for an effect in flight, its intent) and only a
// digest of the request, so the request itself cannot be shown.
import { RunNotFound, UsageError } from "../kernel/errors.js";
import { PAYLOAD_LIMITS, decodeMsgpack } from "../kernel/msgpack-decoder.js";
import { opName } from "../kernel/ops.js";
import { EntryState, type JournalEntry } from "../journal/entry.js";
import type { Store } from "../store/types.js";
import type { JournalEntryInfo, JournalOptions } from "./types.js";

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
    for (const [k, x] of Object.entries(v)) out[k] = summarize(x, full, depth + 1);
    return out;
  }
  return typeof v; // a function or symbol: never in decoded MessagePack
}

const STATES = { [EntryState.Intent]: "intent", [EntryState.Ok]: "ok", [EntryState.Err]: "error" } as const;

/** One entry as the API shows it: its payload decoded (an undecodable one is reported, not thrown). */
export function journalEntryInfo(e: JournalEntry, full: boolean): JournalEntryInfo {
  let value: unknown;
  try {
    value = e.payload.length === 0 ? null : summarize(decodeMsgpack(e.payload, PAYLOAD_LIMITS), full);
  } catch {
    value = { undecodable: e.payload.length };
  }
  const state = STATES[e.state];
  return {
    seq: e.seq,
    op: opName(e.op),
    state,
    bytes: e.payload.length,
    ...(state === "ok" && { response: value }),
    ...(state === "error" && { error: value }),
    ...(state === "intent" && { intent: value }),
  };
}

/** The run's journal from `from` (default 1), decoded. RunNotFound if there is no such run. */
export async function readJournalEntries(store: Store, runId: string, o: JournalOptions): Promise<JournalEntryInfo[]> {
  const from = o.from ?? 1;
  if (!Number.isSafeInteger(from) || from < 1) throw new UsageError(`bad --from '${from}': expected a journal seq, a whole number from 1`);
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  const entries = await store.readJournal(run.rid);
  return entries.filter((e) => e.seq >= from).map((e) => journalEntryInfo(e, o.full === true));
}
