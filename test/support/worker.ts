// Helpers for tests of `dwe worker`: worker processes, polling the database, creating many runs.
import Database from "better-sqlite3";
import type { ChildProcess } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, example, exited, spawnDwe } from "./cli.js";

export const WORKER_WASM = example("worker");

export interface WorkerProcess {
  child: ChildProcess;
  log: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `dwe worker` with short leases and polls (override with `env`). */
export function startWorker(w: { dir: string; db: string }, args: string[] = [], env: Record<string, string> = {}): WorkerProcess {
  const child = spawnDwe(["worker", ...args], {
    cwd: w.dir,
    db: w.db,
    env: { DWE_LEASE_TTL_MS: "2000", DWE_POLL_MS: "100", ...env },
  });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
  return {
    child,
    log: () => log,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited(child);
    },
  };
}

export interface RunRow {
  id: string;
  status: string;
  output: string | null;
  error: string | null;
  attempts: number;
  parent_id: string | null;
}

/** Reads runs straight from the database (read-only). */
export function runsIn(db: string, where = "1 = 1", ...params: unknown[]): RunRow[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    conn.pragma("busy_timeout = 5000");
    return conn
      .prepare(`SELECT id, status, CAST(output AS TEXT) AS output, error, attempts, parent_id FROM runs WHERE ${where} ORDER BY rid`)
      .all(...params) as RunRow[];
  } finally {
    conn.close();
  }
}

export function runIn(db: string, id: string): RunRow {
  const r = runsIn(db, "id = ?", id)[0];
  if (!r) throw new Error(`no run ${id}`);
  return r;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 60_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(every);
  }
}

/** `dwe start` for each argument list, `parallel` CLI processes at a time; returns the run ids. */
export async function startRuns(w: { dir: string; db: string }, argLists: string[][], parallel = 16): Promise<string[]> {
  const ids: string[] = new Array<string>(argLists.length);
  let next = 0;
  const lane = async () => {
    while (next < argLists.length) {
      const i = next++;
      const r = await dweAsync(["start", ...argLists[i]!], { cwd: w.dir, db: w.db });
      if (r.code !== 0) throw new Error(`dwe start failed: ${r.stderr}`);
      ids[i] = r.stdout.trim();
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return ids;
}
