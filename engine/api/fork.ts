import { RunNotFound, UsageError } from "../kernel/errors.js";
import { EntryState } from "../journal/entry.js";
import { opName } from "../kernel/ops.js";
import type { RunExport, RunRecord, Store } from "../store/types.js";
import { checkRunId, newRunId } from "./run-id.js";

// `Dwe.fork` (`dwe fork RUN [--at SEQ] [--id NEW]`): a new run whose journal is a copy of another
// run's first entries; it replays them and continues live from there (docs/api.md, "Forking").

export interface ForkOptions {
  /** Copy entries 1..at (default: every entry up to the first one not complete, i.e. an intent in flight). */
  at?: number;
  /** The new run's id (default: a fresh one). */
  id?: string;
}

/**
 * Forks `sourceId`: one transaction creates the new run (pending, no parent, the source's module,
 * entry, input, config and name, `config.forkedFrom` recording where it came from), with the
 * source's journal entries and log lines up to `at`, and its signals: those consumed within the
 * copied part as consumed, the others (consumed later, or not yet) waiting to be taken again, so the
 * fork sees the same events. The source is read as one consistent snapshot and never changed.
 */
export async function forkRun(store: Store, sourceId: string, o: ForkOptions): Promise<RunRecord> {
  const id = o.id === undefined ? newRunId() : checkRunId(o.id);
  if (!(await store.getRun(sourceId))) throw new RunNotFound(sourceId);
  const source = await store.exportRun(sourceId);
  const complete = source.journal.findIndex((e) => e.state === EntryState.Intent);
  const max = complete === -1 ? source.journal.length : complete;
  const at = o.at ?? max;
  if (!Number.isSafeInteger(at) || at < 0 || at > max) {
    throw new UsageError(
      `bad --at '${String(o.at)}': run ${sourceId} has ${max} complete journal entr${max === 1 ? "y" : "ies"}; fork at 0…${max}`,
    );
  }
  refuseSplitChildren(source, sourceId, at, max);
  const now = Date.now();
  const fork: RunExport = {
    run: {
      ...source.run,
      id,
      status: "pending",
      output: null,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      wakeAt: null,
      wakeRequested: false,
      cancelRequested: false,
      attempts: 0,
      parentId: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      leaseToken: 0,
      config: { ...source.run.config, forkedFrom: { run: sourceId, seq: at } },
    },
    module: source.module,
    journal: source.journal.slice(0, at),
    logs: source.logs.filter((l) => l.seq <= at),
    signals: source.signals.map((s) => (s.consumedSeq !== null && s.consumedSeq > at ? { ...s, consumedSeq: null } : s)),
  };
  return store.importRun(fork);
}

/**
 * A child run belongs to one parent: a fork whose copied part starts a child (`child.start`) that
 * the source joins only after the cut would wait for a child that is not its own. Refused, naming
 * where the fork may be cut instead.
 */
function refuseSplitChildren(source: RunExport, sourceId: string, at: number, max: number): void {
  const starts = source.journal.filter((e) => e.seq <= at && opName(e.op) === "child.start");
  if (starts.length === 0) return;
  const joins = source.journal.filter((e) => e.seq > at && opName(e.op) === "child.join");
  if (joins.length === 0) return;
  const lastJoin = joins[joins.length - 1]!.seq;
  const where = lastJoin <= max ? `at ${starts[0]!.seq - 1} or earlier, or at ${lastJoin} or later` : `at ${starts[0]!.seq - 1} or earlier`;
  throw new UsageError(
    `cannot fork run ${sourceId} at ${at}: its journal starts child runs (seq ${starts.map((e) => e.seq).join(", ")}) ` +
      `that it joins after that point (seq ${joins.map((e) => e.seq).join(", ")}), and a fork cannot wait for another run's children: fork ${where}`,
  );
}
