// A stall of SQLite's write lock longer than the lease TTL (issue 10.2): while it is held no worker
// can commit or renew, so every lease expires by the clock. When it is released, the workers that
// were only blocked must not take each other's runs over (and repeat their effects in flight); a
// worker frozen (SIGSTOP) over the same time and woken with the lock must not take them either.
import { describe, expect, it } from "vitest";
const bed = workerTestbed("dwe-lock-stall-");
import Database from "better-sqlite3";
import { setTimeout as delay } from "node:timers/promises";
import { spawn } from "node:child_process";
import { openStoreAt } from "../engine/store/open.js";
import { ROOT } from "./support/cli.js";
import { senderPid } from "./support/sender-pid.js";
import { WORKER_WASM, runsIn, waitFor, workerTestbed } from "./support/worker.js";

describe("SQLite: the write lock held past the lease TTL", () => {
  it("no effect of a worker that was only blocked is repeated, not even by a worker frozen over the same time", async () => {
    const n = 6;
    await bed.startRuns(
      Array.from({ length: n }, (_, i) => [
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        `r${i}`,
        "--allow-net",
        "127.0.0.1",
        "--input",
        JSON.stringify({ url: bed.url, n: 2 }),
      ]),
    );
    // Requests take longer than the stall: effects are still in flight when the lock is released.
    const sent: { key: string; pid: number | null }[] = [];
    const pids: number[] = [];
    bed.server.hold = (r) => {
      sent.push({ key: r.key!, pid: senderPid(r.port, pids) });
      return delay(8_000);
    };
    // B and C execute all the runs; A, with free slots, only looks for work.
    const busy = [0, 1].map(() => bed.worker(["--concurrency", "3"]));
    pids.push(...busy.map((p) => p.child.pid!));
    await waitFor("six effects in flight", () => sent.length === n, 60_000);
    const frozen = bed.worker(["--concurrency", "6"]);
    pids.push(frozen.child.pid!);
    await waitFor("A started", () => frozen.log().includes("started on"), 30_000);

    // A lock holder stalls for three TTLs (2 s each) and A is frozen over the same time; A wakes
    // just before the lock is released, so its first claim, with a fresh clock, waits for the lock.
    // B and C are stopped while the lock is released, so A's claim is the first to get it: without
    // the stall rules it takes over their expired leases and sends their in-flight requests again.
    const lock = new Database(bed.db);
    lock.exec("BEGIN IMMEDIATE");
    frozen.child.kill("SIGSTOP");
    await delay(6_000);
    for (const p of busy) p.child.kill("SIGSTOP");
    frozen.child.kill("SIGCONT");
    await delay(500);
    lock.exec("COMMIT");
    lock.close();
    await delay(300);
    for (const p of busy) p.child.kill("SIGCONT");

    await waitFor("all completed", () => runsIn(bed.db, "status = 'completed'").length === n, 120_000, 200).catch((err: unknown) => {
      const state = runsIn(bed.db).map((r) => `${r.id} ${r.status} ${r.error ?? ""}`);
      throw new Error(`${String(err)}\n${state.join("\n")}\n${[...busy, frozen].map((p) => p.log()).join("\n")}`);
    });
    const byKey = new Map<string, (number | null)[]>();
    for (const s of sent) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s.pid]);
    expect(byKey.size).toBe(n * 2); // every step performed
    expect([...byKey].filter(([, senders]) => senders.length > 1)).toEqual([]);
    expect(sent.every((s) => s.pid !== null && s.pid !== frozen.child.pid)).toBe(true);
  }, 300_000);

  it("a claim that waited for the lock grants leases that count from when it got it, and takes no expired lease over", async () => {
    await bed.startRuns([
      [WORKER_WASM, "--entry", "steps", "--id", "pending", "--input", JSON.stringify({ url: bed.url, n: 1 })],
      [WORKER_WASM, "--entry", "steps", "--id", "orphan", "--input", JSON.stringify({ url: bed.url, n: 1 })],
    ]);
    const store = openStoreAt(bed.db, "process");
    try {
      // "orphan" is running under a lease that has expired (its holder was blocked, say).
      await store.acquireLease("orphan", "elsewhere:1:x", 1, false);
      await delay(10);
      // Another process holds the write lock for 1.5 s.
      const holder = spawn(
        process.execPath,
        [
          "-e",
          `const D=require("better-sqlite3");const d=new D(process.argv[1]);d.exec("BEGIN IMMEDIATE");console.log("locked");setTimeout(()=>{d.exec("COMMIT");d.close()},1500)`,
          bed.db,
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
      );
      await new Promise<void>((r) => holder.stdout.once("data", () => r()));
      const claimed = await store.claimRuns("w", 10, 1_000, Date.now());
      const got = Date.now();
      expect(claimed.map((c) => c.lease.runId)).toEqual(["pending"]);
      expect(claimed[0]!.lease.expiresAt).toBeGreaterThanOrEqual(got + 1_000 - 100);
      expect((await store.getRun("orphan"))!.leaseOwner).toBe("elsewhere:1:x");
      // Without the wait, the expired lease is taken over.
      expect((await store.claimRuns("w", 10, 1_000, Date.now())).map((c) => c.lease.runId)).toEqual(["orphan"]);
    } finally {
      await store.close();
    }
  });
});
