// B12: 200 workflows of 10 steps (9 clock.now + run.output) started at once through one `dwe worker`,
// with --durability fsync (B12), with the default durability (B12-default) and on PostgreSQL
// (B12-pg, fsync on as PostgreSQL's default). With group commit the runs a worker thread has ready in
// the same event-loop turn share one transaction and one fsync (engine/store/commit-group.ts), so a
// syncing disk should cost a fraction of the default mode's rate, not one fsync per claim and finish.
// Rates are from the first attempt's start to the last run's end, as the database recorded them
// (the worker's process start is excluded: 200 runs take about as long as starting Node).
import { atLeast, ratioText, type Benchmark, type Figure } from "./lib/figure.js";
import { fdatasyncCost } from "./lib/disk.js";
import { guest, readWasm } from "./lib/guests.js";
import { createRunIn, executeIn, pgSkipped, putModuleIn, tempAnyStore } from "./lib/pg.js";
import { skipped } from "./lib/skip.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";
import { workerRate } from "./lib/worker-rate.js";

const INPUT = "9";

export const b12: Benchmark = {
  id: "B12",
  title: "group commit: 200 workflows of 10 steps through one worker",
  async run(ctx) {
    const n = ctx.quick ? 50 : 200;
    const what = (how: string) => `${n} workflows of 10 steps started at once through one \`dwe worker\`, ${how}`;
    const skip = skipped("B12", what("--durability fsync"), "workflows/s", ">= 2000");
    if (skip) return [skip];
    const pgSkip = await pgSkipped("B12-pg", what("PostgreSQL"), "workflows/s", ">= 1500");
    const wasm = readWasm(await guest("loop"));
    const probe = await tempAnyStore("sqlite");
    const rates = {
      fsync: [] as number[],
      default: [] as number[],
      pg: [] as number[],
      inProcess: [] as number[],
      fsyncUs: [] as number[],
    };
    try {
      const rate = async (label: string, backend: "sqlite" | "pg", env: Record<string, string> = {}) =>
        (await workerRate(ctx, { backend, wasm, n, input: INPUT, env, label })).fromFirstClaim;
      await repeat(ctx.quick ? 1 : Math.min(ctx.runs, 5), async () => {
        rates.fsyncUs.push(fdatasyncCost(probe.dir, ctx.quick ? 20 : 200));
        rates.default.push(await rate("B12-default", "sqlite"));
        rates.fsync.push(await rate("B12", "sqlite", { DWE_DURABILITY: "fsync" }));
        if (!pgSkip) rates.pg.push(await rate("B12-pg", "pg"));
        // The default mode's baseline: the same runs executed one after another in this process.
        const s = await tempAnyStore("sqlite");
        try {
          const sha = await putModuleIn(s.store, wasm);
          const ids: string[] = [];
          for (let i = 0; i < n; i++) ids.push((await createRunIn(s.store, sha, INPUT)).id);
          const t0 = nowMs();
          for (const id of ids) await executeIn(s.store, id);
          rates.inProcess.push(n / ((nowMs() - t0) / 1000));
        } finally {
          await s.close();
        }
      });
    } finally {
      await probe.close();
    }
    const fsync = round(median(rates.fsync));
    const dflt = round(median(rates.default));
    const fsyncUs = round(median(rates.fsyncUs));
    // Without sharing, each run's claim and end would wait for an fsync each: the disk's cap.
    const alone = round(1e6 / (2 * fsyncUs));
    const reps = rates.fsync.length;
    const figures: Figure[] = [
      {
        id: "B12",
        what: what("--durability fsync"),
        value: fsync,
        unit: "workflows/s",
        target: ">= 2000",
        baseline: dflt,
        note:
          `${ratioText(fsync, dflt)} (target on a busy disk >= 0.50x); baseline: the same workload with the default durability ` +
          `(B12-default), alternating in this run; one fdatasync on this disk ${fsyncUs} µs: a worker whose runs each synced ` +
          `their claim and their end alone would be capped at ${alone} workflows/s by the disk; median of ${reps}`,
        met: atLeast(fsync, 2000),
      },
      {
        id: "B12-default",
        what: what("default durability"),
        value: dflt,
        unit: "workflows/s",
        target: "—",
        baseline: round(median(rates.inProcess)),
        note: `${ratioText(dflt, round(median(rates.inProcess)))}; baseline: executeRun in one process, one run after another, same kind of database; median of ${reps}`,
        met: null,
      },
    ];
    if (pgSkip) figures.push(pgSkip);
    else {
      const pgRate = round(median(rates.pg));
      figures.push({
        id: "B12-pg",
        what: what("PostgreSQL"),
        value: pgRate,
        unit: "workflows/s",
        target: ">= 1500",
        baseline: dflt,
        note: `${ratioText(pgRate, dflt)}; baseline: B12-default (SQLite, default durability), alternating in this run; PostgreSQL with its default synchronous_commit=on; median of ${reps}`,
        met: atLeast(pgRate, 1500),
      });
    }
    return figures;
  },
};
