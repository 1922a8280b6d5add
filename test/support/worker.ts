// Helpers for tests of `dwe worker`: the testbed (workdir, HTTP server, workers), worker processes,
// polling the database, creating many runs.
import Database from "better-sqlite3";
import type { ChildProcess } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { openStoreAt } from "../../engine/store/open.js";
import { type CliResult, dweAsync, example, exited, spawnDwe, workdir } from "./cli.js";
import { CountingServer } from "./servers.js";
import { createTestDatabase, pgTestsEnabled, type TestDatabase } from "./postgres.js";

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

/** Runs `read` on a read-only connection to the SQLite file `db`, closed afterwards. */
export function readDb<T>(db: string, read: (conn: Database.Database) => T): T {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    conn.pragma("busy_timeout = 5000");
    return read(conn);
  } finally {
    conn.close();
  }
}

/** Reads runs straight from the database (read-only). */
export function runsIn(db: string, where = "1 = 1", ...params: unknown[]): RunRow[] {
  return readDb(
    db,
    (conn) =>
      conn
        .prepare(`SELECT id, status, CAST(output AS TEXT) AS output, error, attempts, parent_id FROM runs WHERE ${where} ORDER BY rid`)
        .all(...params) as RunRow[],
  );
}

export function runIn(db: string, id: string): RunRow {
  const r = runsIn(db, "id = ?", id)[0];
  if (!r) throw new Error(`no run ${id}`);
  return r;
}

/** Polls `check` (which may be async) until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
  every = 50,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(every);
  }
}

/**
 * Runs `dwe start` for each argument list, `parallel` CLI processes at a time; returns the run ids.
 * On the first failure no more are started, and it throws once the ones under way have ended; with
 * `signal` aborted (the test is being torn down) it starts no more either.
 */
export async function startRuns(
  w: { dir: string; db: string },
  argLists: string[][],
  parallel = 16,
  signal?: AbortSignal,
): Promise<string[]> {
  const ids: string[] = new Array<string>(argLists.length);
  let next = 0;
  let failed: Error | undefined;
  const lane = async () => {
    while (next < argLists.length && !failed && !signal?.aborted) {
      const i = next++;
      const r = await dweAsync(["start", ...argLists[i]!], { cwd: w.dir, db: w.db });
      if (r.code !== 0) failed ??= new Error(`dwe start failed: ${r.stderr}`);
      else ids[i] = r.stdout.trim();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, argLists.length) }, lane));
  if (failed) throw failed;
  if (signal?.aborted) throw new Error("startRuns: the test ended before all runs were started");
  return ids;
}

/**
 * Creates runs like `template` (same module, entry and grants), one per id and input, in this process
 * through the store: many runs without a `dwe start` process each.
 */
export async function createRunsLike(db: string, template: string, runs: { id: string; input: string }[]): Promise<void> {
  const store = openStoreAt(db, "process", false);
  try {
    const t = await store.getRun(template);
    if (!t) throw new Error(`no run ${template}`);
    for (const r of runs) {
      await store.createRun({
        id: r.id,
        module: t.module,
        entry: t.entry,
        input: new TextEncoder().encode(r.input),
        config: t.config,
        parentId: null,
        status: "pending",
      });
    }
  } finally {
    await store.close();
  }
}

/** The test set-up of the worker tests: a directory, a database, a counting HTTP server, and workers. */
export interface WorkerTestbed {
  /** This test's directory (the CLI and workers run in it). */
  readonly dir: string;
  /** The database the processes use: the SQLite file beside `dir`, the `db` option's, or (`on` PostgreSQL) the block's test database URL. */
  readonly db: string;
  readonly server: CountingServer;
  /** The server's address, `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** `dwe worker ARGS` (see startWorker); stopped with SIGKILL when the test ends. */
  worker(args?: string[], env?: Record<string, string>): WorkerProcess;
  /** startRuns in this test's directory and database; what it is still starting is awaited when the test ends. */
  startRuns(argLists: string[][], parallel?: number): Promise<string[]>;
  /** The CLI to completion, in this test's directory and database. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
}

/** A store the worker tests of a describe.each run on; PostgreSQL is not `enabled` when unreachable outside CI. */
export interface TestStore {
  store: "SQLite" | "PostgreSQL";
  enabled: boolean;
}

/** The stores to run `what` on, for describe.each: SQLite, and PostgreSQL (see pgTestsEnabled). */
export async function testStores(what: string): Promise<TestStore[]> {
  return [
    { store: "SQLite", enabled: true },
    { store: "PostgreSQL", enabled: await pgTestsEnabled(what) },
  ];
}

/**
 * Registers, in the current describe block, the set-up and tear-down every worker test repeats: a
 * fresh workdir and CountingServer before each test; after it, every worker it started killed (woken
 * first if stopped) and awaited, its startRuns ended, the server stopped and the directory removed —
 * in that order, so no process of the test is left to spawn into a removed directory.
 */
export function workerTestbed(prefix: string, o: { db?: () => string | undefined; on?: TestStore } = {}): WorkerTestbed {
  // On PostgreSQL (`on`): a database of the block's own, created before its tests and dropped after.
  let pgdb: TestDatabase | undefined;
  if (o.on?.store === "PostgreSQL" && o.on.enabled) {
    beforeAll(async () => {
      pgdb = await createTestDatabase();
    });
    afterAll(async () => {
      await pgdb?.drop();
    });
  }
  let w: ReturnType<typeof workdir> | undefined;
  let server: CountingServer | undefined;
  let url = "";
  let workers: WorkerProcess[] = [];
  let starting: Promise<unknown>[] = [];
  let ended = new AbortController();
  const here = () => {
    if (!w) throw new Error("the worker testbed is used outside a test");
    return w;
  };
  const bed: WorkerTestbed = {
    get dir() {
      return here().dir;
    },
    get db() {
      return pgdb?.url ?? o.db?.() ?? here().db;
    },
    get server() {
      if (!server) throw new Error("the worker testbed is used outside a test");
      return server;
    },
    get url() {
      return url;
    },
    worker(args = [], env = {}) {
      const p = startWorker(bed, args, env);
      workers.push(p);
      return p;
    },
    startRuns(argLists, parallel) {
      const p = startRuns(bed, argLists, parallel, ended.signal);
      starting.push(p.catch(() => undefined));
      return p;
    },
    cli(args, env) {
      return dweAsync(args, { cwd: bed.dir, db: bed.db, ...(env && { env }) });
    },
  };
  beforeEach(async () => {
    w = workdir(prefix);
    server = new CountingServer();
    url = await server.start();
    workers = [];
    starting = [];
    ended = new AbortController();
  });
  afterEach(async () => {
    ended.abort();
    for (const p of workers) {
      p.child.kill("SIGCONT");
      await p.stop("SIGKILL");
    }
    await Promise.all(starting);
    await server?.stop();
    w?.cleanup();
    w = undefined;
    server = undefined;
  });
  return bed;
}
