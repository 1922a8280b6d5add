// A real store that also records every call made to it (method and arguments, in order): what a
// test asserts when it counts how often an attempt reads the run or its journal, or writes its end.
import type { Store } from "../../engine/store/types.js";

export interface StoreCall {
  method: string;
  args: unknown[];
}

export interface CountingStore {
  store: Store;
  calls: StoreCall[];
  /** How many times `method` was called. */
  count: (method: keyof Store) => number;
  /** The arguments of each call of `method`, in order. */
  argsOf: (method: keyof Store) => unknown[][];
}

export function countingStore(inner: Store): CountingStore {
  const calls: StoreCall[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        calls.push({ method: String(prop), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    count: (method) => calls.filter((c) => c.method === method).length,
    argsOf: (method) => calls.filter((c) => c.method === method).map((c) => c.args),
  };
}
