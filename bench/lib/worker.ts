// Driving `dwe worker` for B4-B6: runs are created in the database directly (setup, not measured),
// then a worker process executes them while this process watches the database.
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { DWE_BIN } from "./guests.js";
import { createRun, executable, putModule, tempStore, type BenchStore } from "./engine.js";
import { rssMb, spawnDwe, type DweProcess } from "./proc.js";
import { nowMs } from "./stats.js";

/** Whether this build has `dwe worker` (it is developed separately). */
export function workerAvailable(): boolean {
  const r = spawnSync(process.execPath, [DWE_BIN, "worker", "--help"], { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 && r.stdout.includes("--concurrency");
}

/** A database holding `count` pending runs of `wasm`, each with `input`. */
export async function pendingRuns(wasm: Uint8Array, count: number, input: string, net = false): Promise<{ s: BenchStore; module: string }> {
  const s = tempStore();
  const module = await putModule(s.store, wasm);
  await executable(s.store, module); // the instrumented module is stored, as after any first run
  await addRuns(s, module, count, input, net);
  return { s, module };
}

export async function addRuns(s: BenchStore, module: string, count: number, input: string, net = false): Promise<void> {
  for (let i = 0; i < count; i++) await createRun(s.store, { module, input, ...(net && { net: "127.0.0.1" }) });
}

export class WorkerProcess {
  readonly p: DweProcess;
  private readonly db: Database.Database;
  private readonly count: Database.Statement;

  constructor(
    readonly path: string,
    args: string[],
    env: Record<string, string> = {},
  ) {
    this.p = spawnDwe(path, ["worker", "--quiet", ...args], env);
    this.db = new Database(path, { readonly: true, timeout: 30_000 });
    this.count = this.db.prepare("SELECT COUNT(*) FROM runs WHERE status = ?").pluck();
  }

  statusCount(status: string): number {
    return this.count.get(status) as number;
  }

  /** Polls until `count` runs have `status`; returns nowMs() when seen (throws after `timeoutMs`). */
  async until(status: string, count: number, timeoutMs: number, pollMs = 10): Promise<number> {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      if (this.statusCount(status) >= count) return nowMs();
      if (this.p.child.exitCode !== null) throw new Error(`dwe worker exited ${this.p.child.exitCode}: ${this.p.stderr().slice(0, 500)}`);
      if (nowMs() > deadline) {
        throw new Error(
          `timed out: ${this.statusCount(status)} of ${count} runs ${status} after ${timeoutMs} ms; failed: ${this.statusCount("failed")}`,
        );
      }
      await delay(pollMs);
    }
  }

  memory(): { rss: number; peak: number } {
    return rssMb(this.p.child.pid!);
  }

  async stop(): Promise<void> {
    this.db.close();
    if (this.p.child.exitCode === null && this.p.child.signalCode === null) {
      this.p.child.kill("SIGTERM");
      const t = setTimeout(() => this.p.child.kill("SIGKILL"), 15_000);
      await this.p.exited;
      clearTimeout(t);
    }
  }
}
