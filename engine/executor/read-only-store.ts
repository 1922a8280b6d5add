import { ReadOnlyViolation } from "../kernel/errors.js";
import type { Store } from "../store/types.js";

/** Store methods that only read. */
const READS = new Set<string | symbol>([
  "location",
  "close",
  "getModule",
  "getArtifact",
  "getRun",
  "listRuns",
  "countRuns",
  "readJournal",
  "summarizeJournal",
  "readLogs",
  "listSignals",
  "listSchedules",
]);

/**
 * A view of a store that can only read: every writing method throws ReadOnlyViolation, except
 * `putArtifact` (a cache of derived module forms), which is silently skipped.
 */
export function readOnlyStore(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "putArtifact") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (READS.has(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return () => {
        throw new ReadOnlyViolation(String(prop));
      };
    },
  });
}
