import { runGuestToEnd } from "./guest-runner.js";
import { CorruptJournal, DweError, NonDeterminismError, ProgramExit, ReplayEnd, RunNotFound, describeError } from "../kernel/errors.js";
import { EntryState, type JournalEntry } from "../journal/entry.js";
import { JournalWriter } from "./journal-writer.js";
import { opName } from "../kernel/ops.js";
import { isTerminal, type RunRecord, type RunStatus, type Store } from "../store/types.js";
import { prepareAttempt, type PreparedAttempt } from "./prepare-attempt.js";
import { Dispatcher } from "./dispatcher.js";
import { CheckedGuestMemory } from "./guest-memory.js";
import { readOnlyStore } from "./read-only-store.js";

/** How a verification replay ended. */
export type VerifyOutcome =
  /** The guest asked for a call the journal does not have yet: the recorded part replayed cleanly. */
  | "end_of_journal"
  /** The guest reached an effect recorded as in flight (intent without result): replayed up to it. */
  | "in_flight"
  /** The guest returned after consuming the whole journal. */
  | "returned"
  /** The guest failed after consuming the whole journal (as a failed run does). */
  | "failed_after_journal"
  /** The guest asked for something other than the journal records, or stopped short of it. */
  | "diverged"
  /** A journal row fails its checksum, has a gap, or is out of place. */
  | "corrupt"
  /** The replay did not finish within the verify timeout (a guest looping without host calls). */
  | "timeout";

export interface VerifyReport {
  run: string;
  status: RunStatus;
  /** Journal rows, including an intent in flight. */
  entries: number;
  /** Entries answered from the journal and matched by the guest's calls. */
  replayed: number;
  intact: boolean;
  deterministic: boolean;
  outcome: VerifyOutcome;
  /** The seq where something is wrong (divergence, corruption), if known. */
  seq: number | null;
  /** One sentence: what was found. */
  message: string;
}

/** An intent that is not the last entry cannot happen: an effect's result replaces its intent before anything else is journaled. */
function misplacedIntent(entries: readonly JournalEntry[]): JournalEntry | undefined {
  return entries.find((e, i) => e.state === EntryState.Intent && i !== entries.length - 1);
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return (a?.length ?? 0) === (b?.length ?? 0);
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * `dwe verify`: replays a run against its journal without side effects and says whether the journal
 * is intact and the code deterministic. Every call is answered from the journal; at the first call
 * the journal cannot answer (or an effect in flight) the replay stops, before anything is performed.
 * Nothing is written to the store: not the journal, not the run, not its lease.
 */
export interface VerifyOptions {
  debug?: (line: string) => void;
  /** Told after every host call whether the whole journal has been consumed (for a watchdog that may have to stop the replay). */
  onProgress?: (replayed: number, consumedAll: boolean) => void;
  /** Replay on this module (sha256, stored) instead of the run's own: `dwe resume --upgrade`'s check. */
  module?: string;
  /** Told when the guest's own code starts (true) and stops (false) running on this thread (an attempt thread's watchdog). */
  onGuest?: (running: boolean) => void;
}

export async function verifyRun(store: Store, runId: string, o: VerifyOptions = {}): Promise<VerifyReport> {
  const ro = readOnlyStore(store);
  const run = await ro.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  const base = { run: run.id, status: run.status };
  let recorded: JournalEntry[];
  try {
    recorded = await ro.readJournal(run.rid);
  } catch (err) {
    if (!(err instanceof CorruptJournal)) throw err;
    return {
      ...base,
      entries: 0,
      replayed: 0,
      intact: false,
      deterministic: false,
      outcome: "corrupt",
      seq: err.seq,
      message: err.message,
    };
  }
  const entries = recorded.length;
  const bad = misplacedIntent(recorded);
  if (bad) {
    return {
      ...base,
      entries,
      replayed: 0,
      intact: false,
      deterministic: false,
      outcome: "corrupt",
      seq: bad.seq,
      message: `journal entry seq ${bad.seq} (${opName(bad.op)}) of run ${run.id} is an intent followed by other entries; the database was damaged`,
    };
  }
  const done = entries > 0 && recorded[entries - 1]!.state === EntryState.Intent ? entries - 1 : entries;
  return replay(ro, await prepareAttempt(ro, run, { module: o.module, journal: recorded }), done, o);
}

async function replay(store: Store, prepared: PreparedAttempt, done: number, o: VerifyOptions): Promise<VerifyReport> {
  const { run, journal: recorded, guest, wasi, functions } = prepared;
  const debug = o.debug ?? (() => undefined);
  const entries = recorded.length;
  const base = { run: run.id, status: run.status, entries };
  const lease = { runId: run.id, rid: run.rid, owner: "verify", token: -1, expiresAt: 0, attempt: 0 };
  const onProgress = o.onProgress;
  const dispatcher = new Dispatcher({
    mode: "verify",
    ...(onProgress && { onReplayed: (replayed: number, all: boolean) => onProgress(Math.min(replayed, done), all) }),
    run,
    cwd: process.cwd(),
    journal: new JournalWriter(store, lease, { maxBatch: 1 << 30, maxDelayMs: 1 << 30 }),
    recorded,
    functions,
    suspendAfterMs: 0,
    signal: new AbortController().signal,
    deadline: null,
  });
  onProgress?.(0, done === 0);
  const memory = new CheckedGuestMemory();
  let returned = false;
  try {
    await runGuestToEnd({
      run,
      dispatcher,
      wasi,
      memory,
      ...guest,
      signal: new AbortController().signal,
      debug,
      onGuest: o.onGuest,
      onReturned: () => {
        returned = true;
      },
    });
    return endOfReplay(run, base, done, recorded, returned, dispatcher);
  } catch (err) {
    if (err instanceof ReplayEnd) return endOfReplay(run, base, done, recorded, returned, dispatcher);
    if (err instanceof NonDeterminismError) {
      return {
        ...base,
        replayed: dispatcher.replayed,
        intact: true,
        deterministic: false,
        outcome: "diverged",
        seq: err.seq,
        message: err.message,
      };
    }
    if (err instanceof ProgramExit && !dispatcher.replaying) {
      return verdictAfterJournal(run, base, done, { code: err.code, message: err.message });
    }
    const error = describeError(err);
    if (err instanceof DweError && (error.code === "invalid_module" || error.code === "store" || error.code === "corrupt_journal"))
      throw err;
    if (!dispatcher.replaying) return verdictAfterJournal(run, base, done, error);
    return {
      ...base,
      replayed: done,
      intact: true,
      deterministic: false,
      outcome: "diverged",
      seq: null,
      message: `run ${run.id} diverged from its journal: the code failed (${error.code}: ${error.message}) before making all ${entries} recorded calls`,
    };
  } finally {
    wasi.close();
  }
}

/** The verdict once the replay ended cleanly: the guest returned, or asked for a call the journal cannot answer. */
function endOfReplay(
  run: RunRecord,
  base: { run: string; status: RunStatus; entries: number },
  done: number,
  recorded: readonly JournalEntry[],
  returned: boolean,
  dispatcher: Dispatcher,
): VerifyReport {
  const entries = base.entries;
  if (done < entries) {
    const e = recorded[entries - 1]!;
    return {
      ...base,
      replayed: done,
      intact: true,
      deterministic: true,
      outcome: "in_flight",
      seq: null,
      message: `replayed ${done} of ${entries} journal entries cleanly; entry seq ${e.seq} (${opName(e.op)}) was in flight${isTerminal(run.status) ? ` when the run ended (${run.status}); it is not performed again` : ` and is performed again by \`dwe resume ${run.id}\``}`,
    };
  }
  if (returned && run.status === "completed" && !sameBytes(dispatcher.output, run.output)) {
    return {
      ...base,
      replayed: done,
      intact: false,
      deterministic: true,
      outcome: "returned",
      seq: null,
      message: `replayed all ${entries} journal entries, but the output they produce differs from the output stored for run ${run.id}; the database was damaged`,
    };
  }
  return {
    ...base,
    replayed: done,
    intact: true,
    deterministic: true,
    outcome: returned ? "returned" : "end_of_journal",
    seq: null,
    message: returned
      ? `replayed all ${entries} journal entries cleanly and the code returned, as recorded`
      : `replayed all ${entries} journal entries cleanly; the code goes on past them${isTerminal(run.status) ? "" : ` (\`dwe resume ${run.id}\` continues it)`}`,
  };
}

function verdictAfterJournal(
  run: RunRecord,
  base: { run: string; status: RunStatus; entries: number },
  done: number,
  error: { code: string; message: string },
): VerifyReport {
  // A completed run returned at this point; failing now is divergence. Otherwise failing after the
  // journal is what a failed run did (or what a resumed run will do).
  const deterministic = run.status !== "completed";
  return {
    ...base,
    replayed: done,
    intact: true,
    deterministic,
    outcome: deterministic ? "failed_after_journal" : "diverged",
    seq: null,
    message: deterministic
      ? `replayed all ${base.entries} journal entries cleanly; the code then fails (${error.code}: ${error.message})`
      : `run ${run.id} diverged from its journal: it completed, but replaying it fails after the last entry (${error.code}: ${error.message})`,
  };
}

/** The report for a replay stopped by the watchdog after `timeoutMs`. */
export function timedOutReport(run: RunRecord, entries: number, replayed: number, consumedAll: boolean, timeoutMs: number): VerifyReport {
  const base = { run: run.id, status: run.status, entries };
  const error = { code: "timeout", message: `the code ran for more than ${timeoutMs} ms without returning` };
  if (consumedAll) {
    // A run that failed by timing out did the same; otherwise only a longer --timeout can tell.
    if (run.error?.code === "timeout") return verdictAfterJournal(run, base, replayed, error);
    return {
      ...base,
      replayed,
      intact: true,
      deterministic: false,
      outcome: "timeout",
      seq: null,
      message: `replayed all ${entries} journal entries cleanly, then the code ran for more than ${timeoutMs} ms without calling the host; give verify a longer --timeout if it needs it`,
    };
  }
  return {
    ...base,
    replayed,
    intact: true,
    deterministic: false,
    outcome: "timeout",
    seq: null,
    message: `the replay of run ${run.id} did not get through its ${entries} journal entries within ${timeoutMs} ms (stuck after ${replayed}); give verify a longer --timeout if it needs it`,
  };
}
