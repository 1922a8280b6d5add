// B6: suspended runs hold no memory: worker RSS with 10 vs N runs sleeping (suspended) at once.
import { setTimeout as delay } from "node:timers/promises";
import { ratioText, type Benchmark } from "./lib/figure.js";
import { guest, readWasm } from "./lib/guests.js";
import { addRuns, pendingRuns, WorkerProcess } from "./lib/worker.js";
import { round } from "./lib/stats.js";
import { skipped } from "./lib/skip.js";

export const b6: Benchmark = {
  id: "B6",
  title: "memory of suspended runs",
  async run(ctx) {
    const few = 10;
    const many = ctx.quick ? 200 : 10_000;
    const what = `worker RSS with ${many} runs sleeping (suspended), against ${few}`;
    const target = `<= 1.25x the RSS with ${few}`;
    const skip = skipped("B6", what, "MB", target);
    if (skip) return [skip];
    const wasm = readWasm(await guest("loop"));
    const input = "1 0 0 - 3600000"; // one clock call, then a durable sleep of an hour
    const { s, module } = await pendingRuns(wasm, few, input);
    try {
      const w = new WorkerProcess(s.path, ["--concurrency", "256", "--poll", "10"]);
      try {
        await w.until("suspended", few, 60_000);
        await delay(1000);
        const base = w.memory().rss;
        await addRuns(s, module, many - few, input);
        await w.until("suspended", many, 240_000, 50);
        await delay(1000);
        const m = w.memory();
        const value = round(m.rss);
        const baseline = round(base);
        return [
          {
            id: "B6",
            what,
            value,
            unit: "MB",
            target,
            baseline,
            note:
              `${ratioText(value, baseline)}; VmRSS of the worker 1 s after ${few}, then all ${many}, runs were suspended ` +
              `(peak during the ${many} ${round(m.peak)} MB); each run is dropped from memory when it suspends ` +
              `(status and wake_at live in the database), so only heap growth from executing them remains`,
            met: value <= baseline * 1.25,
          },
        ];
      } finally {
        await w.stop();
      }
    } finally {
      await s.close();
    }
  },
};
