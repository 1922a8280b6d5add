// Takeover without waiting for the lease (issue 10.3): a `dwe worker` killed with SIGKILL mid-run
// has the run continued by another worker before the dead worker's 30 s lease would have expired,
// on SQLite (same host: the dead or zombie pid) and on PostgreSQL (the dead worker's session-level
// advisory lock is gone). On PostgreSQL an idle worker is woken by NOTIFY, not by its poll.
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { setTimeout as delay } from "node:timers/promises";
import { sql } from "./support/postgres.js";
import { WORKER_WASM, waitFor, workerTestbed, testStores } from "./support/worker.js";

const STORES = await testStores("takeover at once");

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

interface Run {
  status: string;
  output: string | null;
  attempts: number;
  lease_expires: number | null;
}

describe.each(STORES)("takeover after SIGKILL on $store", (on) => {
  const { store, enabled } = on;
  // The processes use the SQLite file, or the test database's URL.
  const bed = workerTestbed("dwe-takeover-", { on });

  const worker = (env: Record<string, string> = {}, args: string[] = []) => {
    return bed.worker(args, { DWE_LEASE_TTL_MS: "30000", ...env });
  };
  const run = async (id: string): Promise<Run> => {
    if (store === "PostgreSQL") {
      const r = await sql(bed.db, "SELECT status, output::text AS output, attempts, lease_expires FROM runs WHERE id = $1", [id]);
      const row = r.rows[0] as { status: string; output: string | null; attempts: number; lease_expires: string | null };
      const output = row.output === null ? null : Buffer.from(row.output.replace(/^\\x/, ""), "hex").toString();
      return { ...row, output, lease_expires: row.lease_expires === null ? null : Number(row.lease_expires) };
    }
    const conn = new Database(bed.db, { readonly: true });
    try {
      conn.pragma("busy_timeout = 5000");
      return conn.prepare("SELECT status, CAST(output AS TEXT) AS output, attempts, lease_expires FROM runs WHERE id = ?").get(id) as Run;
    } finally {
      conn.close();
    }
  };
  const start = async (id: string, input: object) => {
    const args = ["--entry", "steps", "--id", id, "--allow-net", "127.0.0.1", "--input", JSON.stringify(input)];
    const r = await bed.cli(["start", WORKER_WASM, ...args]);
    expect(r.code, r.stderr).toBe(0);
  };

  it.skipIf(!enabled)("another worker continues a SIGKILLed worker's run before the dead worker's 30 s lease expires", async () => {
    await start("k1", { url: bed.url, n: 4, sleep_ms: 1500 });
    const a = worker();
    await waitFor("A's first step", () => bed.server.received.length >= 1);
    // B is up and polling before the kill.
    const b = worker();
    await waitFor("B started", () => b.log().includes("started on"), 30_000);
    const seen = bed.server.received.length;
    await waitFor("A's next step", () => bed.server.received.length > seen, 30_000);
    await delay(150); // inside the sleep after that step: nothing in flight
    const lease = (await run("k1")).lease_expires!;
    expect((await a.stop("SIGKILL")).signal).toBe("SIGKILL");
    await waitFor("B's first request", () => bed.server.received.length > seen + 1, 40_000);
    // Not a timing assertion: the lease A held had not expired when B went on.
    expect(Date.now()).toBeLessThan(lease);
    await until("completion", async () => (await run("k1")).status === "completed", 60_000);
    const done = await run("k1");
    expect(JSON.parse(done.output!)).toEqual({ steps: 4 });
    expect(done.attempts).toBe(2);
    expect(bed.server.received.map((r) => r.body)).toEqual(["0", "1", "2", "3"]);
  });

  it.skipIf(!enabled || store !== "PostgreSQL")("an idle worker is woken by a new run at once, not at its next poll (NOTIFY)", async () => {
    const p = worker({}, ["--poll", "600000"]);
    await waitFor("the worker started", () => p.log().includes("started on"), 30_000);
    await delay(500); // its first poll (at start) is over
    await start("n1", { url: bed.url, n: 1, sleep_ms: 0 });
    await until("completion", async () => (await run("n1")).status === "completed", 30_000);
  });
});
