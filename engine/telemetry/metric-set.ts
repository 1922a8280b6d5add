// The metrics dwe exposes (docs/observability.md), as data: the one list that prometheus.ts
// registers and that executor threads record into by name.

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const ENTRIES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export const COUNTERS = {
  runs_started: { help: "Runs whose first attempt began (an attempt on a pending run with an empty journal)" },
  runs_completed: { help: "Attempts that completed their run" },
  runs_failed: { help: "Attempts that failed their run (including runs a worker failed for them: timeout, watchdog, crashes)" },
  runs_cancelled: { help: "Attempts that ended their run as cancelled" },
  attempts: {
    help: "Attempts that ended, by outcome (completed, failed, cancelled, suspended, pending: given back, lease_lost, error)",
    label: "outcome",
  },
  leases_lost: { help: "Attempts stopped because another process took their run's lease" },
  journal_entries_appended: { help: "Journal entries written (intents and results), by operation", label: "op" },
} as const;

export const HISTOGRAMS = {
  journal_commit_seconds: { help: "Time to commit one batch of journal entries to the store", buckets: SECONDS },
  journal_commit_entries: { help: "Journal entries per committed batch", buckets: ENTRIES },
  replay_seconds: { help: "Time from an attempt's start to the end of its replay (attempts that replayed entries)", buckets: SECONDS },
  claim_seconds: { help: "Time a worker's claim of due runs took in the store", buckets: SECONDS },
  host_call_seconds: { help: "Duration of live host calls (replayed calls are not counted), by operation", label: "op", buckets: SECONDS },
} as const;

export type CounterName = keyof typeof COUNTERS;
export type HistogramName = keyof typeof HISTOGRAMS;

/** What an executor thread recorded since it last sent: counter increments and histogram observations. */
export interface MetricDelta {
  counts: [CounterName, string, number][];
  observed: [HistogramName, string, number[]][];
}

/** Every metric's name is prefixed so. */
export const PREFIX = "dwe_";
