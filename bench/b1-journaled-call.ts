// B1: record-mode cost of a pure journaled call: a guest reading the clock N times, live, against
// the same guest whose imports are plain JavaScript (not journaled).
import { atMost, ratioText, type Benchmark, type Figure } from "./lib/figure.js";
import { createRun, execute, executable, putModule, tempStore } from "./lib/engine.js";
import { guest, readWasm } from "./lib/guests.js";
import { plainInstance } from "./lib/plain-abi.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";

export const b1: Benchmark = {
  id: "B1",
  title: "record-mode cost of a journaled call",
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 100_000;
    const bytes = readWasm(await guest("loop"));
    const s = tempStore();
    try {
      const sha = await putModule(s.store, bytes);
      const module = await executable(s.store, sha); // instruments and compiles once, outside the timing
      const input = new TextEncoder().encode(String(n));
      // Journaled and plain runs alternate, so both see the same background load.
      const journaled: number[] = [];
      const plain: number[] = [];
      await repeat(
        ctx.runs,
        async (i) => {
          const run = await createRun(s.store, { module: sha, input: String(n) });
          let t0 = nowMs();
          await execute(s.store, run.id);
          const j = ((nowMs() - t0) * 1000) / n;
          const entry = plainInstance(module, input);
          t0 = nowMs();
          entry();
          const p = ((nowMs() - t0) * 1000) / n;
          if (i >= 0) {
            journaled.push(j);
            plain.push(p);
          }
        },
        1,
      );
      const value = round(median(journaled));
      const baseline = round(median(plain));
      const fig: Figure = {
        id: "B1",
        what: `journaled clock.now call, record mode (N = ${n})`,
        value,
        unit: "µs per call",
        target: "<= 2",
        baseline,
        note:
          `${ratioText(value, baseline)}; +${round(value - baseline)} µs per call added by journaling; whole executeRun ` +
          `(lease, instantiate, ${n} calls, batched commits, finish) / N, median of ${journaled.length}; baseline: the same ` +
          `instrumented module with plain JS imports of the same ABI shape, not journaled`,
        met: atMost(value, 2),
      };
      return [fig];
    } finally {
      await s.close();
    }
  },
};
