// B10: takeover after SIGKILL of a worker. A `dwe worker` (default 30 s lease, 250 ms poll) is
// SIGKILLed while a run's HTTP request is in flight; time from the kill until the repeated request
// (the run's first live call on another worker) reaches a local server. Baseline: the same kill,
// then `dwe resume RUN` typed by hand at once (from the kill, so its process start counts).
// SQLite and PostgreSQL, each on a fresh store.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { parseNetGrants } from "../engine/kernel/grants.js";
import type { Store } from "../engine/store/types.js";
import { ratioText, type Benchmark, type Figure } from "./lib/figure.js";
import { guest, readWasm } from "./lib/guests.js";
import { pgSkipped, putModuleIn, tempAnyStore, type AnyBenchStore, type Backend } from "./lib/pg.js";
import { spawnDwe, type DweProcess } from "./lib/proc.js";
import { median, nowMs, repeat, round } from "./lib/stats.js";

/** Holds every request until `release`; tells when the next one arrives. */
class HoldingServer {
  private server: http.Server | null = null;
  private held: http.ServerResponse[] = [];
  private waiters: ((t: number) => void)[] = [];

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const t = nowMs();
      req.resume();
      req.on("end", () => {
        this.held.push(res);
        for (const w of this.waiters.splice(0)) w(t);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** The arrival time of the next request (register before causing it). */
  next(ms = 60_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no request within ${ms} ms`)), ms);
      this.waiters.push((at) => (clearTimeout(t), resolve(at)));
    });
  }

  release(): void {
    for (const res of this.held.splice(0)) res.end("ok");
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

let counter = 0;

async function createRun(store: Store, module: string, url: string): Promise<string> {
  const id = `b10-${process.pid}-${++counter}`;
  await store.createRun({
    id,
    module,
    entry: "run",
    input: new TextEncoder().encode(`0 1 0 ${url}`),
    config: {
      grants: { dirs: [], net: parseNetGrants("127.0.0.1"), shell: false },
      args: [],
      env: {},
      timeoutMs: null,
      maxMemoryBytes: null,
    },
    parentId: null,
    status: "pending",
  });
  return id;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** A `dwe worker` with the default lease and poll, once it is up (its session held, polling). */
async function startWorker(s: AnyBenchStore): Promise<DweProcess> {
  const p = spawnDwe(s.location, ["worker", "--threads", "1"], { DWE_CACHE_DIR: `${s.dir}/cache` }, s.dir);
  await until("the worker to start", () => {
    if (p.child.exitCode !== null) throw new Error(`dwe worker exited ${p.child.exitCode}: ${p.stderr().slice(0, 500)}`);
    return p.stderr().includes("started on");
  });
  await delay(300); // past its session's registration and first poll
  return p;
}

async function kill(p: DweProcess): Promise<void> {
  p.child.kill("SIGKILL");
  await p.exited;
}

/** Medians (ms) from the kill to the run's next live call: another worker's, and a `dwe resume`'s. */
async function measure(
  b: Backend,
  runs: number,
  warmup: number,
  server: HoldingServer,
  url: string,
): Promise<{ worker: number[]; resume: number[] }> {
  const s = await tempAnyStore(b);
  const out = { worker: [] as number[], resume: [] as number[] };
  const live: DweProcess[] = [];
  try {
    const module = await putModuleIn(s.store, readWasm(await guest("loop")));
    const completed = async (id: string) => (await s.store.getRun(id))?.status === "completed";
    // Another worker: the one that took the run over holds the next one, and so on.
    let holder = await startWorker(s);
    live.push(holder);
    await repeat(
      runs,
      async (i) => {
        const first = server.next();
        const id = await createRun(s.store, module, url);
        await first;
        const taker = await startWorker(s);
        live.push(taker);
        const again = server.next();
        const t0 = nowMs();
        await kill(holder);
        const t1 = await again;
        if (i >= 0) out.worker.push(t1 - t0);
        server.release();
        await until("the run to complete", () => completed(id));
        holder = taker;
      },
      warmup,
    );
    // By hand: the same kill, then `dwe resume` at once (the first victim is the last taker, idle now).
    let idle: DweProcess | null = holder;
    await repeat(
      runs,
      async (i) => {
        const victim = idle ?? (await startWorker(s));
        idle = null;
        if (!live.includes(victim)) live.push(victim);
        const first = server.next();
        const id = await createRun(s.store, module, url);
        await first;
        const again = server.next();
        const t0 = nowMs();
        await kill(victim);
        const resume = spawnDwe(s.location, ["resume", id, "--quiet"], { DWE_CACHE_DIR: `${s.dir}/cache` }, s.dir);
        const t1 = await again;
        if (i >= 0) out.resume.push(t1 - t0);
        server.release();
        const end = await resume.exited;
        if (end.code !== 0) throw new Error(`dwe resume exited ${end.code}: ${resume.stderr().slice(0, 500)}`);
      },
      warmup,
    );
    return out;
  } finally {
    for (const p of live) if (p.child.exitCode === null && p.child.signalCode === null) await kill(p);
    await s.close();
  }
}

function figure(id: string, what: string, v: { worker: number[]; resume: number[] }, store: string): Figure {
  const value = round(median(v.worker));
  const baseline = round(median(v.resume));
  return {
    id,
    what,
    value,
    unit: "ms",
    target: "<= 1000",
    baseline,
    note:
      `${ratioText(value, baseline)}; ${store}: from SIGKILL of the worker holding the run (its HTTP request in flight; ` +
      `lease 30 s, poll 250 ms) until the request, repeated by an idle worker already running, reaches a local server; ` +
      `median of ${v.worker.length}; baseline: the same kill, then \`dwe resume\` spawned at once, in the same run`,
    met: value <= 1000,
  };
}

export const b10: Benchmark = {
  id: "B10",
  title: "takeover after SIGKILL of a worker",
  async run(ctx) {
    const server = new HoldingServer();
    const url = await server.start();
    try {
      const warmup = ctx.quick ? 0 : 1;
      const figures = [
        figure(
          "B10",
          "SIGKILL of a worker mid-run until another worker's first live call",
          await measure("sqlite", ctx.runs, warmup, server, url),
          "SQLite",
        ),
      ];
      const what = "SIGKILL of a worker mid-run until another worker's first live call, PostgreSQL";
      const skip = await pgSkipped("B10-pg", what, "ms", "<= 1000");
      figures.push(skip ?? figure("B10-pg", what, await measure("pg", ctx.runs, warmup, server, url), "PostgreSQL"));
      return figures;
    } finally {
      await server.stop();
    }
  },
};
