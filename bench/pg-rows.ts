// B1-pg, B4-pg, B9-pg: the shared store's cost. Each measures what B1, B4 and B9 measure, on a
// fresh PostgreSQL database, alternating with the same measurement on a fresh SQLite file in the
// same run (the baseline column), so the ratio is PostgreSQL / SQLite on this machine.
// PostgreSQL: $DWE_BENCH_PG_URL (see lib/pg.ts); rows are null with a note when it is unreachable.
import { atLeast, ratioText, type Benchmark, type Figure } from "./lib/figure.js";
import { guest, readWasm } from "./lib/guests.js";
import { createRunIn, executeIn, pgSkipped, putModuleIn, tempAnyStore, type Backend } from "./lib/pg.js";
import { spawnDwe } from "./lib/proc.js";
import { BenchServer } from "./lib/server.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";
import { workerAvailable } from "./lib/worker.js";
import { workerRate } from "./lib/worker-rate.js";

const BACKENDS: Backend[] = ["sqlite", "pg"];

/** A row of PostgreSQL against SQLite; `atLeastTarget`: the value it should reach (issue 15's B4-pg), if any. */
function figure(id: string, what: string, unit: string, values: Record<Backend, number[]>, note: string, atLeastTarget?: number): Figure {
  const value = round(median(values.pg));
  const baseline = round(median(values.sqlite));
  return {
    id,
    what,
    value,
    unit,
    target: atLeastTarget === undefined ? "—" : `>= ${atLeastTarget}`,
    baseline,
    note: `PostgreSQL ${ratioText(value, baseline).replace("baseline", "SQLite")}; ${note}; median of ${values.pg.length}; baseline: the same on SQLite, alternating in this run`,
    met: atLeastTarget === undefined ? null : atLeast(value, atLeastTarget),
  };
}

export const b1pg: Benchmark = {
  id: "B1-PG",
  title: "B1 on PostgreSQL: record-mode cost of a journaled call",
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 100_000;
    const what = `journaled clock.now call, record mode, PostgreSQL (N = ${n})`;
    const skip = await pgSkipped("B1-pg", what, "µs per call", "—");
    if (skip) return [skip];
    const bytes = readWasm(await guest("loop"));
    const stores = { sqlite: await tempAnyStore("sqlite"), pg: await tempAnyStore("pg") };
    try {
      const sha: Record<Backend, string> = { sqlite: "", pg: "" };
      for (const b of BACKENDS) {
        sha[b] = await putModuleIn(stores[b].store, bytes);
        await executeIn(stores[b].store, (await createRunIn(stores[b].store, sha[b], "1")).id); // instrument, cache, warm
      }
      const values: Record<Backend, number[]> = { sqlite: [], pg: [] };
      await repeat(
        ctx.runs,
        async (i) => {
          for (const b of BACKENDS) {
            const run = await createRunIn(stores[b].store, sha[b], String(n));
            const t0 = nowMs();
            await executeIn(stores[b].store, run.id);
            if (i >= 0) values[b].push(((nowMs() - t0) * 1000) / n);
          }
        },
        ctx.quick ? 0 : 1,
      );
      return [
        figure(
          "B1-pg",
          what,
          "µs per call",
          values,
          "whole executeRun / N (lease, instantiate, N calls, commits of 512-entry batches, finish)",
        ),
      ];
    } finally {
      for (const s of Object.values(stores)) await s.close();
    }
  },
};

export const b4pg: Benchmark = {
  id: "B4-PG",
  title: "B4 on PostgreSQL: worker throughput",
  async run(ctx) {
    const n = ctx.quick ? 200 : 5_000;
    const what = `${n} runs of 10 journaled calls through one \`dwe worker\`, PostgreSQL`;
    const skip =
      (await pgSkipped("B4-pg", what, "runs/s", ">= 1500")) ??
      (workerAvailable()
        ? null
        : {
            id: "B4-pg",
            what,
            value: null,
            unit: "runs/s",
            target: ">= 1500",
            baseline: null,
            note: "not measured: `dwe worker` is not available in this build",
            met: null,
          });
    if (skip) return [skip];
    const wasm = readWasm(await guest("loop"));
    const values: Record<Backend, number[]> = { sqlite: [], pg: [] };
    await repeat(ctx.quick ? 1 : Math.min(ctx.runs, 3), async () => {
      for (const b of BACKENDS) values[b].push((await workerRate(ctx, { backend: b, wasm, n, input: "9", label: "B4-pg" })).fromSpawn);
    });
    return [
      figure(
        "B4-pg",
        what,
        "runs/s",
        values,
        "from spawning the worker (--concurrency 256 --poll 10, default threads) until all are completed",
        1500,
      ),
    ];
  },
};

export const b9pg: Benchmark = {
  id: "B9-PG",
  title: "B9 on PostgreSQL: recovery after SIGKILL",
  async run(ctx) {
    const n = ctx.quick ? 500 : 5_000;
    const what = `\`dwe resume\` after SIGKILL with ${n} journaled calls, until the first live call, PostgreSQL`;
    const skip = await pgSkipped("B9-pg", what, "ms", "—");
    if (skip) return [skip];
    const wasm = await guest("loop");
    const server = new BenchServer();
    const url = await server.start();
    const stores = { sqlite: await tempAnyStore("sqlite"), pg: await tempAnyStore("pg") };
    let seq = 0;
    try {
      const env = (b: Backend) => ({ DWE_CACHE_DIR: `${stores[b].dir}/cache` });
      const untilLive = async (b: Backend, args: string[]): Promise<number> => {
        const arrived = server.nextRequest();
        const p = spawnDwe(stores[b].location, args, env(b), stores[b].dir);
        const t = await Promise.race([
          arrived,
          p.exited.then(() => Promise.reject(new Error(`dwe ${args[0]} exited early: ${p.stderr()}`))),
        ]);
        const end = await p.exited;
        if (end.code !== 0) throw new Error(`dwe ${args.join(" ")} exited ${end.code}: ${p.stderr()}`);
        return t - p.startedAt;
      };
      const runArgs = (id: string, clocks: number) => [
        "run",
        wasm,
        "--quiet",
        "--id",
        id,
        "--allow-net",
        "127.0.0.1",
        "--input",
        `${clocks} 1 0 ${url}`,
      ];
      for (const b of BACKENDS) await untilLive(b, runArgs("warmup", 0));
      const values: Record<Backend, number[]> = { sqlite: [], pg: [] };
      await repeat(
        ctx.runs,
        async (i) => {
          for (const b of BACKENDS) {
            const id = `b9pg-${++seq}`;
            server.hold = true;
            const arrived = server.nextRequest();
            const victim = spawnDwe(stores[b].location, runArgs(id, n), env(b), stores[b].dir);
            await Promise.race([arrived, victim.exited.then(() => Promise.reject(new Error(`dwe run exited early: ${victim.stderr()}`)))]);
            victim.child.kill("SIGKILL");
            await victim.exited;
            server.hold = false;
            const r = await untilLive(b, ["resume", id, "--quiet"]);
            if (i >= 0) values[b].push(r);
          }
        },
        ctx.quick ? 0 : 1,
      );
      return [
        figure(
          "B9-pg",
          what,
          "ms",
          values,
          `from spawning \`dwe resume\` until the in-flight request, repeated live, reaches a local server (${n + 1} entries read, ${n} replayed)`,
        ),
      ];
    } finally {
      await server.stop();
      for (const s of Object.values(stores)) await s.close();
    }
  },
};
