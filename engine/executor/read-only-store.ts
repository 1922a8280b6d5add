import type { Store } from "../store/types.js";

/** Store methods that only read. */
const READS = new Set<string | symbol>([
  "location",
  "close",
  "getModule",
  "getArtifact",
  "getRun",
  "listRuns",
  "readJournal",
  "summarizeJournal",
  "readLogs",
  "listSignals",
  "listSchedules",
]);

/** Thrown when code that promised not to write tries to (a bug: `dwe verify` must never write). */
export class ReadOnlyViolation extends Error {
  override name = "ReadOnlyViolation";
  constructor(method: string) {
    super(`internal: ${method} was called on a read-only view of the store`);
  }
}

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
