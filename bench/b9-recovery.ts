// B9: recovery: a run is SIGKILLed after N journaled calls (while its next call, an HTTP request,
// is in flight); time from the start of the `dwe resume` process until the run makes its first
// live call again (the repeated request reaching a local server).
import { join } from "node:path";
import { atMost, ratioText, type Benchmark } from "./lib/figure.js";
import { tempDir } from "./lib/engine.js";
import { guest } from "./lib/guests.js";
import { spawnDwe, timedNode } from "./lib/proc.js";
import { BenchServer } from "./lib/server.js";
import { median, repeat, round } from "./lib/stats.js";

export const b9: Benchmark = {
  id: "B9",
  title: "recovery after SIGKILL",
  async run(ctx) {
    const n = ctx.quick ? 500 : 5_000;
    const wasm = await guest("loop");
    const server = new BenchServer();
    const url = await server.start();
    const d = tempDir();
    const db = join(d.dir, "dwe.db");
    const env = { DWE_CACHE_DIR: join(d.dir, "cache") };
    let seq = 0;
    /** Time from spawning `dwe ARGS` until its first HTTP request arrives; the process is left to finish. */
    const untilLive = async (args: string[]): Promise<number> => {
      const arrived = server.nextRequest();
      const p = spawnDwe(db, args, env, d.dir);
      const t = await Promise.race([arrived, p.exited.then(() => Promise.reject(new Error(`dwe ${args[0]} exited early: ${p.stderr()}`)))]);
      const end = await p.exited;
      if (end.code !== 0) throw new Error(`dwe ${args.join(" ")} exited ${end.code}: ${p.stderr()}`);
      return t - p.startedAt;
    };
    try {
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
      await untilLive(runArgs("warmup", 0)); // instruments and caches the module
      const resumed: number[] = [];
      const fresh: number[] = [];
      const floor: number[] = [];
      await repeat(
        ctx.runs,
        async (i) => {
          const id = `b9-${++seq}`;
          // The first attempt: N clock calls, then the request, which the server holds; kill -9 then.
          server.hold = true;
          const arrived = server.nextRequest();
          const victim = spawnDwe(db, runArgs(id, n), env, d.dir);
          await Promise.race([arrived, victim.exited.then(() => Promise.reject(new Error(`dwe run exited early: ${victim.stderr()}`)))]);
          victim.child.kill("SIGKILL");
          await victim.exited;
          server.hold = false;
          const r = await untilLive(["resume", id, "--quiet"]);
          const f = await untilLive(runArgs(`${id}-fresh`, 0));
          const z = await timedNode(["-e", "0"], {}, d.dir);
          if (i >= 0) {
            resumed.push(r);
            fresh.push(f);
            floor.push(z);
          }
        },
        1,
      );
      const value = round(median(resumed));
      const baseline = round(median(fresh));
      const node = round(median(floor));
      return [
        {
          id: "B9",
          what: `\`dwe resume\` after SIGKILL with ${n} journaled calls, until the first live call`,
          value,
          unit: "ms",
          target: "<= 2x node -e 0",
          baseline,
          note:
            `${ratioText(value, baseline)}; from spawning \`dwe resume\` until the in-flight HTTP request, repeated live, ` +
            `reaches a local server (process start, dead lease taken, ${n + 1} entries read, ${n} replayed); median of ` +
            `${resumed.length}; baseline: \`dwe run\` of a new run of the same module whose first call is that request ` +
            `(no journal to replay); \`node -e 0\` in the same run: ${node} ms, ${ratioText(value, node).replace("baseline", "node -e 0")}`,
          met: atMost(value, 2 * node),
        },
      ];
    } finally {
      await server.stop();
      d.cleanup();
    }
  },
};
