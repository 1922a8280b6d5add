// The flags of the chaos test (`npm run chaos`, test/support/chaos/main.ts) and their defaults:
// the issue-10 workload (3 workers, 200 runs of the effects example, 2 minutes of faults).
export type StoreKind = "sqlite" | "postgres";

export interface ChaosOptions {
  stores: StoreKind[];
  /** Runs of the effects example, added over the first 70% of the fault window. */
  runs: number;
  /** Steps per run (each: clock, exec, HTTP, log). */
  steps: number;
  /** `dwe worker` processes kept alive (a killed or stopped one is replaced by a new process). */
  workers: number;
  /** How long faults are injected. */
  durationMs: number;
  /** The workers' `--lease-ttl`; every SIGSTOP lasts 1.25 to 2 times it. */
  leaseTtlMs: number;
  /** The HTTP server answers each request after a random delay up to this, so effects are in flight. */
  maxAnswerDelayMs: number;
  /** After the faults, how long every run gets to complete before it counts as stuck. */
  settleMs: number;
  seed: number;
  /** Keep the directory (and the PostgreSQL database) even when every check passed. */
  keep: boolean;
}

export const USAGE =
  "usage: npm run chaos -- [--store sqlite,postgres] [--runs 200] [--steps 4] [--workers 3] [--duration 120] " +
  "[--lease-ttl 4000] [--max-delay 1500] [--settle 300] [--seed N] [--keep]   (durations in seconds, --lease-ttl and --max-delay in ms)";

export class ChaosUsageError extends Error {
  override name = "ChaosUsageError";
}

export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const o: ChaosOptions = {
    stores: ["sqlite", "postgres"],
    runs: 200,
    steps: 4,
    workers: 3,
    durationMs: 120_000,
    leaseTtlMs: 4_000,
    maxAnswerDelayMs: 1_500,
    settleMs: 300_000,
    seed: Date.now() % 2 ** 31,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--keep") {
      o.keep = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new ChaosUsageError(`${arg} needs a value; ${USAGE}`);
    const whole = (min: number): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min)
        throw new ChaosUsageError(`${arg} takes a whole number of at least ${min}, not '${value}'; ${USAGE}`);
      return n;
    };
    if (arg === "--store") {
      const stores = value.split(",").map((s) => (s === "pg" ? "postgres" : s));
      for (const s of stores)
        if (s !== "sqlite" && s !== "postgres")
          throw new ChaosUsageError(`--store takes sqlite, postgres or both (comma-separated), not '${s}'`);
      o.stores = [...new Set(stores as StoreKind[])];
    } else if (arg === "--runs") o.runs = whole(1);
    else if (arg === "--steps") o.steps = whole(1);
    else if (arg === "--workers") o.workers = whole(2);
    else if (arg === "--duration") o.durationMs = whole(1) * 1000;
    else if (arg === "--lease-ttl") o.leaseTtlMs = whole(500);
    else if (arg === "--max-delay") o.maxAnswerDelayMs = whole(0);
    else if (arg === "--settle") o.settleMs = whole(1) * 1000;
    else if (arg === "--seed") o.seed = whole(0);
    else throw new ChaosUsageError(`unknown argument ${arg}; ${USAGE}`);
  }
  return o;
}

/** A small deterministic PRNG (mulberry32): the same seed makes the same choices of faults and delays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
