// B2: replay speed: a run whose journal holds N clock entries is resumed; entries per second from
// the start of the attempt until its first live call (an HTTP request reaching a local server).
import { atLeast, ratioText, type Benchmark } from "./lib/figure.js";
import { createRun, execute, executable, putModule, tempStore } from "./lib/engine.js";
import { guest, readWasm } from "./lib/guests.js";
import { copyJournalPrefix } from "./lib/journal-copy.js";
import { plainInstance } from "./lib/plain-abi.js";
import { BenchServer } from "./lib/server.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";

export const b2: Benchmark = {
  id: "B2",
  title: "replay speed",
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 100_000;
    const bytes = readWasm(await guest("loop"));
    const s = tempStore();
    const server = new BenchServer();
    const url = await server.start();
    try {
      const sha = await putModule(s.store, bytes);
      const module = await executable(s.store, sha);
      const source = await createRun(s.store, { module: sha, input: String(n) });
      await execute(s.store, source.id);
      const replay: number[] = [];
      const plain: number[] = [];
      const input = new TextEncoder().encode(String(n));
      await repeat(
        ctx.runs,
        async (i) => {
          const run = await createRun(s.store, { module: sha, input: `${n} 1 0 ${url}`, net: "127.0.0.1" });
          copyJournalPrefix(s.path, source.id, run.id, n);
          const live = server.nextRequest();
          const t0 = nowMs();
          const done = execute(s.store, run.id);
          const t1 = await live;
          await done;
          const entry = plainInstance(module, input);
          const t2 = nowMs();
          entry();
          const t3 = nowMs();
          if (i >= 0) {
            replay.push(n / ((t1 - t0) / 1000));
            plain.push(n / ((t3 - t2) / 1000));
          }
        },
        1,
      );
      const value = round(median(replay));
      const baseline = round(median(plain));
      return [
        {
          id: "B2",
          what: `replay of a ${n}-entry journal until the run is live again`,
          value,
          unit: "entries/s",
          target: ">= 1000000",
          baseline,
          note:
            `${ratioText(value, baseline)}; from executeRun (lease, bulk journal read, instantiate, replay) until the first ` +
            `live call reaches a local HTTP server, median of ${replay.length}; baseline: the same guest making the same ` +
            `${n} calls against plain JS imports (calls/s), the floor of re-executing the guest`,
          met: atLeast(value, 1_000_000),
        },
      ];
    } finally {
      await server.stop();
      await s.close();
    }
  },
};
