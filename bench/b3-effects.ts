// B3: overhead of external effects: a run making N HTTP calls to a local server and N exec calls
// (`true`), against the same calls made directly from Node; per call, in both durability modes.
import type { Durability } from "../engine/store/types.js";
import { atMost, type Benchmark, type Figure } from "./lib/figure.js";
import { createRun, execute, putModule, executable, tempStore } from "./lib/engine.js";
import { directExec, directHttp } from "./lib/direct.js";
import { guest, readWasm } from "./lib/guests.js";
import { BenchServer } from "./lib/server.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";

interface Sample {
  http: number;
  exec: number;
  directHttp: number;
  directExec: number;
}

async function measure(durability: Durability, n: number, runs: number, url: string): Promise<Sample[]> {
  const bytes = readWasm(await guest("loop"));
  const s = tempStore(durability);
  try {
    const sha = await putModule(s.store, bytes);
    await executable(s.store, sha);
    const timed = async (input: string): Promise<number> => {
      const run = await createRun(s.store, { module: sha, input, net: "127.0.0.1", shell: true });
      const t0 = nowMs();
      await execute(s.store, run.id);
      return ((nowMs() - t0) * 1000) / n;
    };
    const direct = async (fn: () => Promise<number>): Promise<number> => {
      const t0 = nowMs();
      for (let i = 0; i < n; i++) await fn();
      return ((nowMs() - t0) * 1000) / n;
    };
    // Warm-up: the module, the HTTP agent's socket, the page cache.
    await timed(`0 20 20 ${url}`);
    await direct(() => directHttp(url));
    return await repeat(runs, async () => ({
      http: await timed(`0 ${n} 0 ${url}`),
      directHttp: await direct(() => directHttp(url)),
      exec: await timed(`0 0 ${n}`),
      directExec: await direct(directExec),
    }));
  } finally {
    await s.close();
  }
}

export const b3: Benchmark = {
  id: "B3",
  title: "overhead of external effects",
  async run(ctx) {
    const n = ctx.quick ? 20 : 1_000;
    const server = new BenchServer();
    const url = await server.start();
    try {
      const figures: Figure[] = [];
      for (const durability of ["process", "fsync"] as const) {
        const samples = await measure(durability, n, durability === "fsync" ? 1 : Math.min(ctx.runs, 3), url);
        const added = (pick: (s: Sample) => number, base: (s: Sample) => number) => round(median(samples.map((s) => pick(s) - base(s))));
        const both =
          added(
            (s) => s.http + s.exec,
            (s) => s.directHttp + s.directExec,
          ) / 2;
        const baseBoth = round(median(samples.map((s) => (s.directHttp + s.directExec) / 2)));
        const httpAdded = added(
          (s) => s.http,
          (s) => s.directHttp,
        );
        const execAdded = added(
          (s) => s.exec,
          (s) => s.directExec,
        );
        const httpBase = round(median(samples.map((s) => s.directHttp)));
        const execBase = round(median(samples.map((s) => s.directExec)));
        const suffix = durability === "fsync" ? "-fsync" : "";
        const mode = `--durability ${durability}`;
        const how = `median of ${samples.length} alternating runs; each effect commits the pending batch and its intent before it starts and its result after it (2 transactions)`;
        figures.push(
          {
            id: `B3${suffix}`,
            what: `added per external call, ${n} HTTP + ${n} exec (${mode})`,
            value: round(both),
            unit: "µs per call",
            target: "<= 50",
            baseline: baseBoth,
            note: `dwe run minus the same calls made directly from Node, per call; HTTP +${httpAdded} µs, exec +${execAdded} µs; baseline: the direct calls' mean time per call; ${how}`,
            met: atMost(both, 50),
          },
          {
            id: `B3-http${suffix}`,
            what: `added per HTTP call to a local server (${mode})`,
            value: httpAdded,
            unit: "µs per call",
            target: "<= 50",
            baseline: httpBase,
            note: `dwe ${round(median(samples.map((s) => s.http)))} µs vs direct ${httpBase} µs per call (keep-alive agent both ways); ${how}`,
            met: atMost(httpAdded, 50),
          },
          {
            id: `B3-exec${suffix}`,
            what: `added per exec \`true\` (${mode})`,
            value: execAdded,
            unit: "µs per call",
            target: "<= 50",
            baseline: execBase,
            note: `dwe ${round(median(samples.map((s) => s.exec)))} µs vs direct ${execBase} µs per call (spawn with piped stdio both ways); ${how}`,
            met: atMost(execAdded, 50),
          },
        );
      }
      return figures;
    } finally {
      await server.stop();
    }
  },
};
