import { workerAvailable } from "./worker.js";
import type { Figure } from "./figure.js";

let available: boolean | null = null;

/** A null figure when `dwe worker` is not in this build; null when the worker is there. */
export function skipped(id: string, what: string, unit: string, target: string): Figure | null {
  available ??= workerAvailable();
  if (available) return null;
  return {
    id,
    what,
    value: null,
    unit,
    target,
    baseline: null,
    note: "not measured: `dwe worker` is not available in this build",
    met: null,
  };
}
