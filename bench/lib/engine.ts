// In-process access to the engine for benchmarks that need no separate process (B1-B3, B8).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeRun, type ExecuteOptions } from "../../engine/executor/run-executor.js";
import { parseNetGrants, type Grants } from "../../engine/kernel/grants.js";
import { loadExecutable, inspectModule } from "../../engine/runtime/module-loader.js";
import { newOwnerId } from "../../engine/store/lease-owner.js";
import { SqliteStore } from "../../engine/store/sqlite-store.js";
import type { Durability, RunRecord } from "../../engine/store/types.js";

export interface BenchStore {
  store: SqliteStore;
  dir: string;
  path: string;
  close(): Promise<void>;
}

/** A fresh SQLite store in its own temporary directory. */
export function tempStore(durability: Durability = "process"): BenchStore {
  const dir = mkdtempSync(join(tmpdir(), "dwe-bench-"));
  const path = join(dir, "dwe.db");
  const store = new SqliteStore(path, durability);
  return {
    store,
    dir,
    path,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A temporary directory removed by `cleanup`. */
export function tempDir(prefix = "dwe-bench-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Stores `bytes` as a module; returns its sha256. */
export async function putModule(store: SqliteStore, bytes: Uint8Array): Promise<string> {
  const info = inspectModule(bytes, "bench guest");
  await store.putModule(info.sha256, info.kind, bytes);
  return info.sha256;
}

/** The executable (instrumented, compiled) form of a stored module, as the executor would load it. */
export function executable(store: SqliteStore, sha: string): Promise<WebAssembly.Module> {
  return loadExecutable(store, sha, null);
}

let runCounter = 0;

export interface NewBenchRun {
  module: string;
  input: string;
  net?: string;
  shell?: boolean;
}

let cmdDir: string | null = null;
function commandDir(): string {
  cmdDir ??= mkdtempSync(join(tmpdir(), "dwe-bench-cmd-"));
  return cmdDir;
}

/** Creates a pending run of `module` with `input`; returns its id. */
export async function createRun(store: SqliteStore, r: NewBenchRun): Promise<RunRecord> {
  // A command runs in a granted directory: an empty one of its own, read-only (a grant over the
  // system's temporary directory would contain the bench database, which dwe refuses).
  const dirs = r.shell ? [{ host: commandDir(), guest: "/tmp", readonly: true }] : [];
  const grants: Grants = { dirs, net: r.net ? parseNetGrants(r.net) : [], shell: r.shell ?? false };
  return store.createRun({
    id: `bench-${process.pid}-${++runCounter}`,
    module: r.module,
    entry: "run",
    input: new TextEncoder().encode(r.input),
    config: { grants, args: [], env: {}, timeoutMs: null, maxMemoryBytes: null },
    parentId: null,
    status: "pending",
  });
}

/** Executes one attempt of a run in this process; throws unless it ends as `expect`. */
export async function execute(
  store: SqliteStore,
  runId: string,
  expect = "completed",
  extra: Partial<ExecuteOptions> = {},
): Promise<RunRecord> {
  const run = await executeRun(runId, { store, owner: newOwnerId(), cwd: process.cwd(), ...extra });
  if (run.status !== expect) {
    throw new Error(
      `bench run ${runId} ended ${run.status}, expected ${expect}: ${run.error ? `${run.error.code}: ${run.error.message}` : ""}`,
    );
  }
  return run;
}
