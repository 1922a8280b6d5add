// B5: concurrency: N runs each waiting on an HTTP endpoint that answers after 1 s, one worker.
import { atMost, ratioText, type Benchmark, type Figure } from "./lib/figure.js";
import { guest, readWasm } from "./lib/guests.js";
import { BenchServer } from "./lib/server.js";
import { pendingRuns, WorkerProcess } from "./lib/worker.js";
import { median, repeat, round } from "./lib/stats.js";
import { skipped } from "./lib/skip.js";
import { setTimeout as delay } from "node:timers/promises";

export const b5: Benchmark = {
  id: "B5",
  title: "concurrency: runs waiting on a slow endpoint",
  async run(ctx) {
    const n = ctx.quick ? 50 : 500;
    const what = `${n} runs each waiting on an HTTP endpoint that answers after 1 s, one worker`;
    const skip = skipped("B5", what, "ms", "<= 1300");
    if (skip) return [skip, { ...skip, id: "B5-rss", unit: "MB", target: "<= 500" }];
    const wasm = readWasm(await guest("loop"));
    const server = new BenchServer();
    server.delayMs = 1000;
    const url = await server.start();
    const times: number[] = [];
    const peaks: number[] = [];
    const idle: number[] = [];
    try {
      await repeat(ctx.quick ? 1 : Math.min(ctx.runs, 3), async () => {
        const { s } = await pendingRuns(wasm, n, `0 1 0 ${url}`, true);
        try {
          server.reset();
          const w = new WorkerProcess(s.path, ["--concurrency", String(Math.max(n, 100)), "--poll", "10"]);
          try {
            const done = await w.until("completed", n, 60_000, 5);
            times.push(done - w.p.startedAt);
            peaks.push(w.memory().peak);
            await delay(500);
            idle.push(w.memory().rss);
          } finally {
            await w.stop();
          }
          if (server.requests !== n) throw new Error(`the server got ${server.requests} requests, expected ${n}`);
        } finally {
          await s.close();
        }
      });
    } finally {
      await server.stop();
    }
    const value = round(median(times));
    const peak = round(median(peaks));
    const figures: Figure[] = [
      {
        id: "B5",
        what,
        value,
        unit: "ms",
        target: "<= 1300",
        baseline: 1000,
        note: `${ratioText(value, 1000)}; from spawning the worker (--concurrency ${Math.max(n, 100)} --poll 10) until all ${n} are completed, median of ${times.length}; baseline: the endpoint's 1 s delay (the floor)`,
        met: atMost(value, 1300),
      },
      {
        id: "B5-rss",
        what: `peak RSS of the worker process during B5 (${n} runs in flight)`,
        value: peak,
        unit: "MB",
        target: "<= 500",
        baseline: round(median(idle)),
        note: `VmHWM of the worker process (all its threads); baseline: its VmRSS 0.5 s after the last run completed`,
        met: atMost(peak, 500),
      },
    ];
    return figures;
  },
};
