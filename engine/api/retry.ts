// `dwe retry` as the library does it (Dwe.retry): a failed run's journal is cut where it failed (or
// at `fromSeq`), the cut entries kept in its retry history, and the run continues as `dwe resume`
// continues one: the kept part replays, the cut call is made again live, with new grants or module.
import { RunNotFound, UsageError } from "../kernel/errors.js";
import { EntryState, type JournalEntry } from "../journal/entry.js";
import { checkRetry } from "../store/rules.js";
import type { RunRecord } from "../store/types.js";
import { readModule } from "./prepare-run.js";
import { type ResumeHost, checkUpgrade, refuseStoredGrants, resumeGrants, resumeRun, storeUpgrade } from "./resume.js";
import type { RetryOptions } from "./types.js";

/**
 * Retries `runId`. Everything is checked before anything is written (the run failed, the seq, the
 * grants as resume checks them, the upgrade replayed on the part kept); then one store transaction
 * cuts the journal and makes the run pending; unless `detach`, it is resumed here.
 */
export async function retryRun(h: ResumeHost, runId: string, o: RetryOptions): Promise<RunRecord> {
  if (o.detach && o.upgrade !== undefined)
    throw new UsageError("--upgrade needs the retry to execute here: leave out --detach (a worker continues on the run's own module)");
  const upgrade = o.upgrade === undefined ? undefined : readModule(o.upgrade);
  const { store } = h;
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFound(runId);
  const journal = await store.readJournal(run.rid);
  const from = o.fromSeq ?? defaultCut(journal);
  checkRetry(runId, run.status, journal.length, from);
  const grants = resumeGrants(h, run, o);
  if (grants === undefined) refuseStoredGrants(runId, run.config.grants, h.db);
  if (upgrade) await checkUpgrade(h, run, await storeUpgrade(store, run, upgrade), o, from - 1);
  const retried = await store.retryRun(runId, { from, ...(grants !== undefined && { grants }) });
  if (o.detach) return retried;
  const { grants: _given, widenGrants: _widen, ...rest } = o;
  return resumeRun(h, runId, { ...rest, ...(upgrade && { upgrade }) });
}

/**
 * Where a retry cuts by default: before the last entry that recorded an error (a denied grant, a
 * refused connection, a failed command), so that call is made again; with none, nothing is cut
 * (the journal replays whole and the code that failed after it runs again).
 */
export function defaultCut(journal: readonly JournalEntry[]): number {
  for (let i = journal.length - 1; i >= 0; i--) if (journal[i]!.state === EntryState.Err) return journal[i]!.seq;
  return journal.length + 1;
}
