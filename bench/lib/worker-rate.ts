// One `dwe worker` process executing N pending runs on a fresh SQLite file or PostgreSQL database
// (B4-pg, B12): the runs are created first (setup, not measured), then the worker is spawned and the
// database watched until all are completed.
import Database from "better-sqlite3";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import type { BenchContext } from "./figure.js";
import { createRunIn, putModuleIn, tempAnyStore, type AnyBenchStore, type Backend } from "./pg.js";
import { spawnDwe } from "./proc.js";
import { nowMs } from "./stats.js";

/** Reads the runs' state straight from the database, without going through a store. */
interface Watch {
  count(status: string): Promise<number>;
  /** From the first attempt's start to the last run's end (ms, the database's own timestamps). */
  span(): Promise<number>;
  close(): Promise<void>;
}

const SPAN = "SELECT MIN(a.started_at) AS first, MAX(r.finished_at) AS last FROM runs r JOIN attempts a ON a.rid = r.rid";

async function watch(s: AnyBenchStore): Promise<Watch> {
  if (s.backend === "sqlite") {
    const db = new Database(s.location, { readonly: true, timeout: 30_000 });
    const count = db.prepare("SELECT COUNT(*) FROM runs WHERE status = ?").pluck();
    const span = db.prepare(SPAN);
    return {
      count: (st) => Promise.resolve(count.get(st) as number),
      span: () => {
        const r = span.get() as { first: number; last: number };
        return Promise.resolve(r.last - r.first);
      },
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  const c = new pg.Client({ connectionString: s.location });
  await c.connect();
  return {
    count: async (st) => Number((await c.query<{ n: number }>("SELECT COUNT(*) AS n FROM runs WHERE status = $1", [st])).rows[0]!.n),
    span: async () => {
      const r = (await c.query<{ first: string; last: string }>(SPAN)).rows[0]!;
      return Number(r.last) - Number(r.first);
    },
    close: () => c.end(),
  };
}

export interface WorkerRateOptions {
  backend: Backend;
  wasm: Uint8Array;
  /** Runs to execute, each with `input`. */
  n: number;
  input: string;
  /** `dwe worker` flags after the defaults (`--quiet --concurrency 256 --poll 10`). */
  args?: string[];
  /** The worker's environment beside this process's, e.g. `DWE_DURABILITY`. */
  env?: Record<string, string>;
  /** For the progress line and errors. */
  label: string;
}

export interface WorkerRate {
  /** Runs/s from spawning the worker until all are completed (process start included). */
  fromSpawn: number;
  /** Runs/s from the first attempt's start to the last run's end, as the database recorded them. */
  fromFirstClaim: number;
}

export async function workerRate(ctx: BenchContext, o: WorkerRateOptions): Promise<WorkerRate> {
  const s = await tempAnyStore(o.backend);
  try {
    const sha = await putModuleIn(s.store, o.wasm);
    for (let i = 0; i < o.n; i++) await createRunIn(s.store, sha, o.input);
    const db = await watch(s);
    const p = spawnDwe(s.location, ["worker", "--quiet", "--concurrency", "256", "--poll", "10", ...(o.args ?? [])], o.env ?? {}, s.dir);
    try {
      const deadline = nowMs() + 300_000;
      for (;;) {
        const done = await db.count("completed");
        if (done >= o.n) {
          const fromSpawn = o.n / ((nowMs() - p.startedAt) / 1000);
          return { fromSpawn, fromFirstClaim: o.n / (Math.max(1, await db.span()) / 1000) };
        }
        if (p.child.exitCode !== null) throw new Error(`dwe worker exited ${p.child.exitCode}: ${p.stderr().slice(0, 500)}`);
        if (nowMs() > deadline)
          throw new Error(`${o.label} (${o.backend}): ${done} of ${o.n} completed after 300 s; failed: ${await db.count("failed")}`);
        await delay(5);
      }
    } finally {
      await db.close();
      p.child.kill("SIGTERM");
      const t = setTimeout(() => p.child.kill("SIGKILL"), 15_000);
      await p.exited;
      clearTimeout(t);
      ctx.log(`  ${o.label} ${o.backend}: ${o.n} runs done`);
    }
  } finally {
    await s.close();
  }
}
