// PostgreSQL for the `…-pg` benchmark rows: each measurement gets its own database
// (dwe_bench_<random>) on $DWE_BENCH_PG_URL (else $DWE_TEST_PG_URL, else
// postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards. Stores are used through the
// Store interface, so the same code measures SQLite and PostgreSQL side by side.
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { executeRun } from "../../engine/executor/run-executor.js";
import { newOwnerId } from "../../engine/store/lease-owner.js";
import { openStoreAt } from "../../engine/store/open.js";
import type { RunRecord, Store } from "../../engine/store/types.js";
import { inspectModule } from "../../engine/runtime/module-loader.js";
import type { Figure } from "./figure.js";

export const PG_ADMIN_URL = process.env.DWE_BENCH_PG_URL ?? process.env.DWE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let reachable: string | null | undefined;

/** Null when PostgreSQL answers, else why not (checked once). */
export async function pgUnreachable(): Promise<string | null> {
  if (reachable !== undefined) return reachable;
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    reachable = null;
  } catch (err) {
    reachable = (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
  return reachable;
}

/** A null figure saying why PostgreSQL rows were not measured, or null when they can be. */
export async function pgSkipped(id: string, what: string, unit: string, target: string): Promise<Figure | null> {
  const why = await pgUnreachable();
  if (why === null) return null;
  return {
    id,
    what,
    value: null,
    unit,
    target,
    baseline: null,
    note: `not measured: PostgreSQL at ${PG_ADMIN_URL} is unreachable (${why})`,
    met: null,
  };
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export type Backend = "sqlite" | "pg";

/** A fresh store of either kind, in its own temporary directory (and database), removed by `close`. */
export interface AnyBenchStore {
  backend: Backend;
  store: Store;
  /** What `--db` takes: a file path or a postgres:// URL. */
  location: string;
  dir: string;
  close(): Promise<void>;
}

export async function tempAnyStore(backend: Backend): Promise<AnyBenchStore> {
  const dir = mkdtempSync(join(tmpdir(), "dwe-bench-"));
  if (backend === "sqlite") {
    const location = join(dir, "dwe.db");
    const store = openStoreAt(location, "process");
    return { backend, store, location, dir, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  }
  const name = `dwe_bench_${randomBytes(6).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const location = u.toString();
  const store = openStoreAt(location, "process");
  return {
    backend,
    store,
    location,
    dir,
    close: async () => {
      await store.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function putModuleIn(store: Store, bytes: Uint8Array): Promise<string> {
  const info = inspectModule(bytes, "bench guest");
  await store.putModule(info.sha256, info.kind, bytes);
  return info.sha256;
}

let counter = 0;

export async function createRunIn(store: Store, module: string, input: string): Promise<RunRecord> {
  return store.createRun({
    id: `bench-${process.pid}-${++counter}`,
    module,
    entry: "run",
    input: new TextEncoder().encode(input),
    config: { grants: { dirs: [], net: [], shell: false }, args: [], env: {}, timeoutMs: null, maxMemoryBytes: null },
    parentId: null,
    status: "pending",
  });
}

export async function executeIn(store: Store, runId: string): Promise<RunRecord> {
  const run = await executeRun(runId, { store, owner: newOwnerId(), cwd: process.cwd() });
  if (run.status !== "completed")
    throw new Error(`bench run ${runId} ended ${run.status}: ${run.error ? `${run.error.code}: ${run.error.message}` : ""}`);
  return run;
}

/** Number of runs with `status`, through the store (works for both kinds). */
export async function countStatus(store: Store, status: "completed" | "failed", limit: number): Promise<number> {
  return (await store.listRuns({ status, limit })).length;
}
