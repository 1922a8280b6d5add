import { journalEvents, newSeen } from "../../api/journal-follow.js";
import { attemptJson, entryJson, journalJson, retryJson } from "../../api/run-json.js";
import type { AttemptInfo, JournalEntryInfo, JournalEvent, RetryInfo } from "../../api/types.js";
import { parseSeq } from "./options.js";
import { type GlobalOptions, openDwe } from "./context.js";

/** What one side of an entry's line (request, response) keeps without --full. */
const SHORT_SIDE = 80;

export interface JournalFlags extends GlobalOptions {
  json?: boolean;
  from?: string;
  follow?: boolean;
  full?: boolean;
}

/**
 * `dwe journal RUN [--json] [--from SEQ] [--follow] [--full]`: the run's journal entry by entry
 * (seq, op, state, duration, request → response) between the starts and ends of its attempts,
 * crash points marked. --json: one document; with --follow, JSON lines, one event each.
 */
export async function journalCommand(runId: string, flags: JournalFlags): Promise<number> {
  const from = flags.from === undefined ? undefined : parseSeq(flags.from);
  const o = { ...(from !== undefined && { from }), full: flags.full === true };
  const dwe = await openDwe(flags, false);
  try {
    if (!flags.follow) {
      const view = await dwe.journalView(runId, o);
      if (flags.json) process.stdout.write(JSON.stringify(journalJson(view)) + "\n");
      else {
        const text = new JournalText(flags.full === true);
        process.stdout.write(
          `run ${view.run} (${view.status})\n` +
            journalEvents(view, newSeen())
              .map((e) => text.lines(e))
              .join(""),
        );
      }
      return 0;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const text = new JournalText(flags.full === true);
      if (!flags.json) process.stdout.write(`run ${runId}\n`);
      for await (const e of dwe.followJournal(runId, { ...o, signal: stop.signal })) {
        process.stdout.write(flags.json ? JSON.stringify(eventJson(e)) + "\n" : text.lines(e));
        if (e.type === "end" && e.status === "failed" && !flags.json) {
          process.stdout.write(`(a failed run can be continued with \`dwe retry ${runId}\`; follow it again to see the retry)\n`);
        }
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return 0;
  } finally {
    await dwe.close();
  }
}

/** One line of `dwe journal --follow --json`. */
function eventJson(e: JournalEvent): Record<string, unknown> {
  switch (e.type) {
    case "attempt":
      return { [e.phase === "start" ? "attempt_start" : "attempt_end"]: attemptJson(e.attempt) };
    case "entry":
      return { entry: entryJson(e.entry) };
    case "retry":
      return { retry: retryJson(e.retry) };
    case "end":
      return { end: { status: e.status } };
  }
}

/** The text of journal events: an attempt's header before its first entry, its end after its last. */
class JournalText {
  private readonly headed = new Set<number>();
  constructor(private readonly full: boolean) {}

  lines(e: JournalEvent): string {
    switch (e.type) {
      case "attempt":
        return e.phase === "start" ? this.head(e.attempt.number, e.attempt) : `attempt ${e.attempt.number}  ${attemptEnd(e.attempt)}\n`;
      case "entry":
        return (e.entry.attempt === null ? "" : this.head(e.entry.attempt)) + this.entry(e.entry);
      case "retry":
        return this.retry(e.retry);
      case "end":
        return `run ${e.status}\n`;
    }
  }

  /** A retry and the entries it cut (`dwe retry`), after the end of the attempt that failed. */
  retry(r: RetryInfo): string {
    const failed = r.error ? ` (the run had failed: ${r.error.code}: ${r.error.message})` : "";
    const cut =
      r.entries.length === 0
        ? "nothing cut"
        : `journal cut from seq ${r.fromSeq} (${r.entries.length} entr${r.entries.length === 1 ? "y" : "ies"}):`;
    return (
      `retry ${r.number}  at ${iso(r.at)} after attempt ${r.afterAttempt}${failed}: ${cut}\n` + r.entries.map((e) => this.entry(e)).join("")
    );
  }

  /** The header of attempt `n`, once (`a` unknown: an entry of an attempt not yet told about). */
  private head(n: number, a?: AttemptInfo): string {
    if (this.headed.has(n)) return "";
    this.headed.add(n);
    return a ? `attempt ${n}  started ${iso(a.startedAt)} by ${a.owner}\n` : `attempt ${n}\n`;
  }

  private entry(e: JournalEntryInfo): string {
    const request = "request" in e ? this.side(e.request) : "(request not stored)";
    const result =
      e.state === "ok"
        ? this.side(e.response)
        : e.state === "error"
          ? `error ${this.side(e.error)}`
          : `${PENDING[e.pending ?? "no-result"]}${e.intent === null || e.intent === undefined ? "" : ` ${this.side(e.intent)}`}`;
    const state = e.state === "intent" && e.pending === "no-result" ? "intent!" : e.state;
    return `${String(e.seq).padStart(6)}  ${e.op.padEnd(18)} ${state.padEnd(7)} ${duration(e.durationMs).padStart(8)}  ${request} -> ${result}\n`;
  }

  /** A decoded value on one line, shortened unless --full. */
  private side(v: unknown): string {
    const s = v === null || v === undefined ? "nil" : JSON.stringify(v);
    return this.full || s.length <= SHORT_SIDE ? s : `${s.slice(0, SHORT_SIDE - 1)}…`;
  }
}

const PENDING: Record<NonNullable<JournalEntryInfo["pending"]>, string> = {
  "in-flight": "(in flight)",
  waiting: "(waiting)",
  "no-result": "(no result: crash point, its attempt ended first)",
};

function attemptEnd(a: AttemptInfo): string {
  if (a.crashed) return "CRASHED: ended without an outcome (its process died or lost its lease)";
  const took = a.durationMs === null ? "" : ` after ${duration(a.durationMs)}`;
  const error = a.error ? `: ${a.error.code}: ${a.error.message}` : "";
  return `${a.outcome ?? "ended"}${took}${error}`;
}

function duration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

const iso = (t: number) => new Date(t).toISOString();
