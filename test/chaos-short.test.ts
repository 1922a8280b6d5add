// The chaos test of issue 10 (test/support/chaos/, `npm run chaos` for the long form) in a short
// form: 3 `dwe worker` processes, 30 runs of the effects example, 25 s of random SIGKILL, SIGSTOP
// past the lease and SIGTERM (killed workers replaced), on SQLite and on PostgreSQL. The harness
// checks that every run completes, every step was performed, every repeat carries the first
// idempotency key and is explained by a fault of the worker that had it in flight, `dwe logs`
// shows each step once, `dwe verify` passes, and (SQLite) integrity_check is ok.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, runScript } from "./support/cli.js";
import { pgTestsEnabled } from "./support/postgres.js";
import type { StoreReport } from "./support/chaos/chaos.js";

const pgEnabled = await pgTestsEnabled("chaos (short)");

function chaos(store: string): Promise<CliResult> {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const args = [
    "--store",
    store,
    "--runs",
    "30",
    "--steps",
    "3",
    "--workers",
    "3",
    "--duration",
    "25",
    "--settle",
    "300",
    "--seed",
    String(seed),
  ];
  return runScript(join("dist", "test", "support", "chaos", "main.js"), args);
}

describe("chaos (short): workers killed, stopped past their lease and terminated at random", () => {
  for (const store of ["sqlite", "postgres"]) {
    (store === "sqlite" || pgEnabled ? it : it.skip)(
      `on ${store}: every run completes, every step is performed, and every repeat is explained by a fault of the worker that had the effect in flight`,
      async () => {
        const r = await chaos(store);
        const last = r.stdout.trim().split("\n").pop() ?? "";
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        const report = (JSON.parse(last) as { ok: boolean; stores: StoreReport[] }).stores[0]!;
        expect(report.problems).toEqual([]);
        expect(report).toMatchObject({ ok: true, store, runs: 30, completed: 30, unexplained: 0 });
        // Every step's command and request, at least once each.
        expect(report.effects.distinct).toBe(30 * 3 * 2);
        expect(report.faults.SIGKILL + report.faults.SIGSTOP + report.faults.SIGTERM).toBeGreaterThan(0);
        expect(report.workerProcesses).toBeGreaterThan(3);
      },
      900_000,
    );
  }
});
