// B4: throughput of `dwe worker`: N small runs (10 journaled calls each) executed by one worker.
import { atLeast, ratioText, type Benchmark } from "./lib/figure.js";
import { execute } from "./lib/engine.js";
import { guest, readWasm } from "./lib/guests.js";
import { addRuns, pendingRuns, WorkerProcess } from "./lib/worker.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";
import { skipped } from "./lib/skip.js";

export const b4: Benchmark = {
  id: "B4",
  title: "worker throughput",
  async run(ctx) {
    const n = ctx.quick ? 200 : 5_000;
    const what = `${n} runs of 10 journaled calls (9 clock.now + run.output) through one \`dwe worker\``;
    const skip = skipped("B4", what, "runs/s", ">= 3000");
    if (skip) return [skip];
    const wasm = readWasm(await guest("loop"));
    const rates: number[] = [];
    const sinceFirst: number[] = [];
    const inProcess: number[] = [];
    await repeat(ctx.quick ? 1 : Math.min(ctx.runs, 2), async () => {
      const { s, module } = await pendingRuns(wasm, n, "9");
      try {
        const w = new WorkerProcess(s.path, ["--concurrency", "256", "--poll", "10"]);
        try {
          const first = await w.until("completed", 1, 60_000, 2);
          const done = await w.until("completed", n, 120_000, 5);
          rates.push(n / ((done - w.p.startedAt) / 1000));
          sinceFirst.push((n - 1) / ((done - first) / 1000));
        } finally {
          await w.stop();
        }
        // Baseline: the same runs executed one after another by executeRun in this process.
        const m = Math.min(n, 1000);
        await addRuns(s, module, m, "9");
        const ids = (await s.store.listRuns({ status: "pending", limit: m })).map((r) => r.id);
        const t0 = nowMs();
        for (const id of ids) await execute(s.store, id);
        inProcess.push(ids.length / ((nowMs() - t0) / 1000));
      } finally {
        await s.close();
      }
    });
    const value = round(median(rates));
    const baseline = round(median(inProcess));
    return [
      {
        id: "B4",
        what,
        value,
        unit: "runs/s",
        target: ">= 3000",
        baseline,
        note:
          `${ratioText(value, baseline)}; from spawning the worker (--concurrency 256 --poll 10, default threads) until ` +
          `all ${n} are completed, median of ${rates.length}; ${round(median(sinceFirst))} runs/s from the first ` +
          `completion (without process start); baseline: executeRun in one process, one run after another, same database`,
        met: atLeast(value, 3000),
      },
    ];
  },
};
