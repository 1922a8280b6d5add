// A verification replay in an attempt thread (attempt-thread.ts), stopped after a timeout (a guest
// looping without host calls cannot hold up the caller): `dwe verify`, and `dwe resume --upgrade`'s check.
import { ReportedError, type ThreadError } from "../kernel/errors.js";
import type { Durability, RunRecord, Store } from "../store/types.js";
import { timedOutReport, type VerifyReport } from "./verify-run.js";
import { AttemptThread } from "./attempt-thread.js";
import { VerifyProgress } from "./attempt-thread-protocol.js";

/** Default time a verification replay may take when the run has no timeout of its own. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 60_000;

export interface VerifyInThreadOptions {
  db: string;
  durability: Durability;
  /** Told the replay's debug lines (`--debug`). */
  onDebug?: (line: string) => void;
  /** From the start of the replay (not the loading of the module and journal). */
  timeoutMs: number;
  /** Replay on this stored module (sha256) instead of the run's own. */
  module?: string;
}

export async function verifyInThread(store: Store, run: RunRecord, o: VerifyInThreadOptions): Promise<VerifyReport> {
  const JOB = 1;
  const progress = new VerifyProgress();
  const seen: { report?: VerifyReport; thrown?: ThreadError; stopped?: boolean; died?: string } = {};
  const thread = new AttemptThread({
    db: o.db,
    durability: o.durability,
    // A replay takes no lease and writes nothing: these are not used.
    attempt: { owner: "verify", cwd: process.cwd() },
    on: (e) => {
      if (e.type === "debug") o.onDebug?.(e.line);
      else if (e.type === "verified") seen.report = e.report;
      else if (e.type === "failed") seen.thrown = e.error;
      else if (e.type === "exit" && e.jobs.includes(JOB)) {
        if (e.stopped) seen.stopped = true;
        else seen.died = e.crash?.why ?? "the verify thread ended";
      }
    },
  });
  thread.start(
    {
      kind: "verify",
      job: JOB,
      runId: run.id,
      debug: o.onDebug !== undefined,
      progress: progress.buffer,
      ...(o.module !== undefined && { module: o.module }),
    },
    run.id,
    o.timeoutMs,
  );
  await thread.close();
  if (seen.report) return seen.report;
  if (seen.thrown) throw new ReportedError(seen.thrown);
  if (seen.stopped) {
    const { replayed, consumedAll } = progress.read();
    const entries = (await store.summarizeJournal(run.rid)).entries;
    return timedOutReport(run, entries, replayed, consumedAll, o.timeoutMs);
  }
  throw new ReportedError({ code: "internal", message: seen.died ?? "the verify thread ended", exitCode: 2, disposition: "terminal" });
}
