// B11: a step that commits before the run goes on, on a disk that syncs: one run of N HTTP
// requests to a local server with `--durability fsync`, per step, against the same run's baseline
// of one SQLite commit as dwe's store makes it (WAL, synchronous=FULL: a WAL append and its fsync)
// plus the same request made directly from Node. An at-least-once effect costs one durable commit
// (what was buffered before it, here the previous step's result), so a step should cost about one
// commit plus the request. (Counted with strace: 200 such steps make 217 fsyncs, run start and end
// included.) One fdatasync of a block overwritten in place is cheaper than that commit's fsync of
// an appended WAL: the note gives both.
import { atMost, type Benchmark, type Figure } from "./lib/figure.js";
import { createRun, execute, executable, putModule, tempStore } from "./lib/engine.js";
import { directHttp } from "./lib/direct.js";
import { fdatasyncCost, sqliteCommitCost } from "./lib/disk.js";
import { guest, readWasm } from "./lib/guests.js";
import { BenchServer } from "./lib/server.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";

interface Sample {
  step: number;
  fdatasync: number;
  commit: number;
  http: number;
}

export const b11: Benchmark = {
  id: "B11",
  title: "a committed step, --durability fsync",
  async run(ctx) {
    const n = ctx.quick ? 20 : 1_000;
    const server = new BenchServer();
    const url = await server.start();
    const s = tempStore("fsync");
    try {
      const sha = await putModule(s.store, readWasm(await guest("loop")));
      await executable(s.store, sha);
      const step = async (): Promise<number> => {
        const run = await createRun(s.store, { module: sha, input: `0 ${n} 0 ${url}`, net: "127.0.0.1" });
        const t0 = nowMs();
        await execute(s.store, run.id);
        return ((nowMs() - t0) * 1000) / n;
      };
      const http = async (): Promise<number> => {
        const t0 = nowMs();
        for (let i = 0; i < n; i++) await directHttp(url);
        return ((nowMs() - t0) * 1000) / n;
      };
      // Warm-up: the module, the agent's socket, the page cache and the file.
      await step();
      await http();
      fdatasyncCost(s.dir, 20);
      const samples: Sample[] = await repeat(Math.min(ctx.runs, 5), async () => ({
        fdatasync: fdatasyncCost(s.dir, n),
        commit: sqliteCommitCost(s.dir, n),
        step: await step(),
        http: await http(),
      }));
      const value = round(median(samples.map((x) => x.step)));
      const baseline = round(median(samples.map((x) => x.commit + x.http)));
      const fsync = round(median(samples.map((x) => x.fdatasync)));
      const httpUs = round(median(samples.map((x) => x.http)));
      const commit = round(median(samples.map((x) => x.commit)));
      // What the step costs beyond the request, in SQLite commits: the durable commits per step, plus dwe's own work.
      const perStep = round(median(samples.map((x) => (x.step - x.http) / x.commit)));
      const figure: Figure = {
        id: "B11",
        what: `a step that is an HTTP request committed before the run goes on, --durability fsync (${n} steps)`,
        value,
        unit: "µs per step",
        target: "<= 1.4x baseline",
        baseline,
        note: `baseline: one SQLite transaction of one row, WAL with synchronous=FULL as --durability fsync opens the store (${commit} µs), plus the same request made directly from Node (${httpUs} µs), measured in the same run; the step minus the request is ${perStep} such commits (target <= 1.2); one fdatasync of 4 KiB overwritten in place costs ${fsync} µs on this disk (a commit is ${round(commit / fsync)} of them); median of ${samples.length} alternating runs`,
        met: atMost(value, 1.4 * baseline),
      };
      return [figure];
    } finally {
      await s.close();
      await server.stop();
    }
  },
};
