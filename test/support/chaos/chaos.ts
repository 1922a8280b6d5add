// One chaos run on one store: `dwe worker` processes under random SIGKILL / SIGSTOP past the lease
// / SIGTERM while runs of the effects example are added; then every run must complete and
// every repeated effect be explained by a fault (checks.ts). Everything is real: the CLI, the
// store (an SQLite file or a fresh PostgreSQL database), child processes, an HTTP server on
// 127.0.0.1.
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { openStoreAt } from "../../../engine/store/open.js";
import type { Store } from "../../../engine/store/types.js";
import { createTestDatabase } from "../postgres.js";
import { checkChaos, type RunSeen } from "./checks.js";
import { effectsRunFlags } from "../effects-run.js";
import { EffectsServer, commandsPerformed } from "./effects.js";
import { DweProcess, REPO_ROOT, dweToEnd, recordingShell, type DweWhere } from "../kill-resume.js";
import { injectFaults } from "./faults.js";
import { Fleet, type FleetEvent } from "./fleet.js";
import { seededRandom, type ChaosOptions, type StoreKind } from "./options.js";

const EFFECTS = join(REPO_ROOT, "examples", "effects", "build", "effects.wasm");
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export interface StoreReport {
  store: StoreKind;
  ok: boolean;
  runs: number;
  completed: number;
  steps: number;
  workers: number;
  workerProcesses: number;
  faults: { SIGKILL: number; SIGSTOP: number; SIGTERM: number; onArrival: number };
  effects: { exec: number; http: number; distinct: number };
  repeats: number;
  explained: Record<string, number>;
  unexplained: number;
  seconds: number;
  seed: number;
  problems: string[];
  /** Kept for a look afterwards (always when a check failed). */
  kept: string | null;
}

export async function runChaos(kind: StoreKind, o: ChaosOptions, log: (line: string) => void): Promise<StoreReport> {
  const started = Date.now();
  const random = seededRandom(o.seed);
  const base = mkdtempSync(join(tmpdir(), `dwe-chaos-${kind}-`));
  const work = join(base, "work");
  mkdirSync(join(work, "files"), { recursive: true });
  const pg = kind === "postgres" ? await createTestDatabase() : null;
  const location = pg?.url ?? join(base, "dwe.db");
  const shell = recordingShell(base, { record: "before" });
  const where: DweWhere = { db: location, cwd: work, env: shell.env };
  const env = { ...process.env, ...shell.env };
  const problems: string[] = [];
  const cli = (args: string[]) => dweToEnd(args, where, null);

  // The schema is created here, before any worker or CLI, so none of them races to create it.
  const store: Store = openStoreAt(location, "process");
  const fleet = new Fleet(
    o.workers,
    () => new DweProcess(["worker", "--lease-ttl", String(o.leaseTtlMs), "--poll", "100", "--grace", "2000"], where, 256 * 1024),
  );
  const server = new EffectsServer(
    () => fleet.current(),
    () => Math.floor(random() * o.maxAnswerDelayMs),
  );
  const url = await server.start();
  const ids = Array.from({ length: o.runs }, (_, i) => `c${i}`);
  let startedRuns = 0;
  let settled = false;
  try {
    // The first run through `dwe start`, as a user would; the others are copies of it that a
    // client process adds over the first 70% of the window (submitter.ts).
    const input = (id: string) => ({ n: o.steps, file: `out-${id}.txt`, url: url + id });
    const first = await cli(["start", EFFECTS, ...effectsRunFlags(ids[0]!, input(ids[0]!))]);
    if (first.code !== 0) throw new Error(`dwe start exited ${first.code}: ${first.stderr.trim()}`);
    startedRuns = 1;
    fleet.start();
    const t0 = Date.now();
    const faults = injectFaults(fleet, server, { durationMs: o.durationMs, leaseTtlMs: o.leaseTtlMs, random });
    const submitter = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), "submitter.js"), location, ids[0]!], {
      cwd: work,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const submitted = new Promise<void>((resolve) => {
      let out = "";
      let err = "";
      submitter.stderr.on("data", (c: Buffer) => (err += c.toString()));
      submitter.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          if (line.startsWith("created ")) startedRuns++;
          else problems.push(`run creation: ${line}`);
        }
      });
      submitter.on("close", (code) => {
        if (code !== 0) problems.push(`the submitter exited ${code}: ${err.trim()}`);
        resolve();
      });
    });
    const spacing = (o.durationMs * 0.7) / o.runs;
    const submit = async () => {
      for (let i = 1; i < ids.length; i++) {
        const wait = t0 + i * spacing - Date.now();
        if (wait > 0) await delay(wait);
        submitter.stdin.write(`${ids[i]!}\t${JSON.stringify(input(ids[i]!))}\n`);
      }
      submitter.stdin.end();
      await submitted;
    };
    const progress = setInterval(() => {
      void store.listRuns({ limit: 100_000 }).then((runs) => {
        const done = runs.filter((r) => r.status === "completed").length;
        log(
          `${Math.round((Date.now() - t0) / 1000)} s: ${startedRuns}/${o.runs} started, ${done} completed, ${faultCount(fleet.events)} faults`,
        );
      });
    }, 15_000);
    try {
      await Promise.all([faults, submit()]);
      // Every run must now complete with the fleet healthy again.
      const deadline = Date.now() + o.settleMs;
      for (;;) {
        const runs = await store.listRuns({ limit: 100_000 });
        if (runs.length >= startedRuns && runs.every((r) => TERMINAL.has(r.status))) {
          settled = true;
          break;
        }
        if (Date.now() > deadline) break;
        await delay(500);
      }
    } finally {
      clearInterval(progress);
      await fleet.close(30_000);
    }
    if (!settled) problems.push(`not every run ended within ${o.settleMs / 1000} s after the faults stopped (stuck runs are listed below)`);
    problems.push(...fleet.problems);

    const rows = new Map((await store.listRuns({ limit: 100_000 })).map((r) => [r.id, r]));
    const seen = await pool(ids, 3, async (id): Promise<RunSeen> => {
      const row = rows.get(id);
      const file = join(work, "files", `out-${id}.txt`);
      const fileLines = existsSync(file)
        ? readFileSync(file, "utf8")
            .split("\n")
            .filter((l) => l !== "")
        : [];
      if (!row) return { id, status: null, output: null, error: null, logs: [], verify: { code: 0, out: "" }, fileLines };
      const logs = await cli(["logs", id, "--json"]);
      const verify = await cli(["verify", id, "--json"]);
      return {
        id,
        status: row.status,
        output: row.output ? Buffer.from(row.output).toString() : null,
        error: row.error ? `${row.error.code}: ${row.error.message}` : null,
        logs:
          logs.code === 0
            ? logs.stdout
                .split("\n")
                .filter((l) => l !== "")
                .map((l) => (JSON.parse(l) as { message: string }).message)
            : { failed: `exit ${logs.code}: ${logs.stderr.trim()}` },
        verify: { code: verify.code, out: verify.stdout + verify.stderr },
        fileLines,
      };
    });
    const performed = [...server.performed, ...commandsPerformed(shell.log, fleet.pids)];
    const checked = checkChaos({ expectedRuns: ids, steps: o.steps, runs: seen, performed, events: fleet.events });
    problems.push(...checked.problems);
    await store.close();

    if (kind === "sqlite") {
      const db = new Database(location, { readonly: true });
      const integrity = db.pragma("integrity_check", { simple: true }) as string;
      db.close();
      if (integrity !== "ok") problems.push(`PRAGMA integrity_check: ${integrity}`);
    }

    const ok = problems.length === 0;
    const keep = o.keep || !ok;
    if (keep) {
      writeFileSync(join(base, "events.json"), JSON.stringify(fleet.events, null, 1));
      writeFileSync(join(base, "performed.json"), JSON.stringify(performed, null, 1));
      for (const [pid, text] of fleet.logs) writeFileSync(join(base, `worker-${pid}.log`), text);
    }
    const count = (f: (e: FleetEvent) => boolean) => fleet.events.filter(f).length;
    return {
      store: kind,
      ok,
      runs: o.runs,
      completed: seen.filter((r) => r.status === "completed").length,
      steps: o.steps,
      workers: o.workers,
      workerProcesses: fleet.pids.size,
      faults: {
        SIGKILL: count((e) => e.what === "SIGKILL"),
        SIGSTOP: count((e) => e.what === "SIGSTOP"),
        SIGTERM: count((e) => e.what === "SIGTERM"),
        onArrival: count((e) => e.trigger === "arrival"),
      },
      effects: checked.effects,
      repeats: checked.repeats,
      explained: checked.explained,
      unexplained: checked.unexplained,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      seed: o.seed,
      problems,
      kept: keep ? (pg ? `${base} and PostgreSQL database ${pg.name}` : base) : null,
    };
  } catch (err) {
    await fleet.close(30_000).catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  } finally {
    await server.stop();
    if (!(o.keep || problems.length > 0)) {
      rmSync(base, { recursive: true, force: true });
      await pg?.drop();
    }
  }
}

const faultCount = (events: readonly FleetEvent[]) =>
  events.filter((e) => e.what === "SIGKILL" || e.what === "SIGSTOP" || e.what === "SIGTERM").length;

/** Runs `f` over `items`, at most `limit` at a time, keeping their order. */
async function pool<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
