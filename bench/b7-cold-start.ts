// B7: cold start: `dwe run` of the hello example as a whole process, in the steady state (the
// module's instrumented form cached); the first run of a new module is reported in the note.
import { join } from "node:path";
import { atMost, ratioText, type Benchmark } from "./lib/figure.js";
import { tempDir } from "./lib/engine.js";
import { DWE_BIN, example } from "./lib/guests.js";
import { timedNode } from "./lib/proc.js";
import { median, repeat, round } from "./lib/stats.js";

export const b7: Benchmark = {
  id: "B7",
  title: "cold start of dwe run",
  async run(ctx) {
    const d = tempDir();
    try {
      const db = join(d.dir, "dwe.db");
      // A private asyncify cache: the first run below pays for instrumentation.
      const env = { DWE_CACHE_DIR: join(d.dir, "cache") };
      const hello = example("hello");
      const args = [DWE_BIN, "--db", db, "run", hello, "--quiet"];
      const first = await timedNode(args, env, d.dir);
      const runs = ctx.quick ? 2 : Math.max(10, ctx.runs * 2);
      const steady = await repeat(runs, () => timedNode(args, env, d.dir), 1);
      const floor = await repeat(runs, () => timedNode(["-e", "0"], {}, d.dir), 1);
      const value = round(median(steady));
      const baseline = round(median(floor));
      return [
        {
          id: "B7",
          what: "`dwe run` of examples/hello, whole process, steady state",
          value,
          unit: "ms",
          target: "<= 1.5x baseline",
          baseline,
          note:
            `${ratioText(value, baseline)}; spawn to exit, median of ${steady.length} (same database, module cached); ` +
            `baseline: \`node -e 0\` (the process floor); the first run of the module (asyncify instrumentation, ` +
            `then cached in the store and in the per-user cache) took ${round(first)} ms`,
          met: atMost(value, 1.5 * baseline),
        },
      ];
    } finally {
      d.cleanup();
    }
  },
};
