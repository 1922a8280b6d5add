// Workers on several hosts sharing one PostgreSQL database: a SIGKILLed host's run is finished by
// another host with every completed effect done once; a host cut off past its lease (SIGSTOP) is
// fenced when it comes back. Hosts are network namespaces when possible (test/support/hosts.ts):
// they reach PostgreSQL and the HTTP server only through relays on a private bridge.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, workdir } from "./support/cli.js";
import { createNetwork, startHostWorker, type HostWorker, type Network } from "./support/hosts.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, waitFor } from "./support/worker.js";

const enabled = await pgTestsEnabled("cross-host failover");
const suite = enabled ? describe : describe.skip;

interface Row {
  id: string;
  status: string;
  output: string | null;
  attempts: number;
  lease_owner: string | null;
  lease_token: number;
}

suite("workers on several hosts, one PostgreSQL database", () => {
  let db: TestDatabase;
  let net: Network;
  let w: ReturnType<typeof workdir>;
  let server: CountingServer;
  /** URL of the database as the hosts reach it (through the relay). */
  let hostDb: string;
  /** URL of the HTTP server as the hosts reach it. */
  let hostUrl: string;
  const workers: HostWorker[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    net = await createNetwork(2, (line) => process.stderr.write(`${line}\n`));
    const pgPort = await net.relay(5432);
    const u = new URL(db.url);
    u.hostname = net.address;
    u.port = String(pgPort);
    hostDb = u.toString();
  });
  afterAll(async () => {
    await net?.teardown();
    await db?.drop();
  });

  async function setup(): Promise<void> {
    w = workdir("dwe-hosts-");
    server = new CountingServer();
    const local = new URL(await server.start());
    hostUrl = `http://${net.address}:${await net.relay(Number(local.port))}/`;
  }
  afterEach(async () => {
    for (const p of workers.splice(0)) await p.stop("SIGKILL");
    await server?.stop();
    w?.cleanup();
  });

  const row = async (id: string): Promise<Row> =>
    (
      await sql(
        db.url,
        "SELECT id, status, convert_from(output, 'UTF8') AS output, attempts, lease_owner, lease_token::int AS lease_token FROM runs WHERE id = $1",
        [id],
      )
    ).rows[0] as Row;
  const journal = async (id: string) =>
    (
      await sql(
        db.url,
        "SELECT seq, state, encode(payload, 'hex') AS p FROM journal WHERE rid = (SELECT rid FROM runs WHERE id = $1) ORDER BY seq",
        [id],
      )
    ).rows as Record<string, unknown>[];
  const poll = async <T>(what: string, check: () => Promise<T | false | undefined>): Promise<T> => {
    let last: T | false | undefined;
    const end = Date.now() + 90_000;
    for (;;) {
      last = await check();
      if (last !== undefined && last !== false) return last;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await delay(50);
    }
  };
  const start = async (id: string, input: object) => {
    const r = await dweAsync(
      [
        "start",
        WORKER_WASM,
        "--entry",
        "steps",
        "--id",
        id,
        "--allow-net",
        net.address,
        "--input",
        JSON.stringify({ url: hostUrl, ...input }),
      ],
      { cwd: w.dir, db: db.url },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(id);
  };
  const worker = (i: number) => {
    const p = startHostWorker(net.hosts[i]!, hostDb, w.dir);
    workers.push(p);
    return p;
  };

  it("a host is SIGKILLed mid-run: the other host finishes it, each completed effect once", async () => {
    await setup();
    await start("k1", { n: 6, sleep_ms: 500 });
    const both = [worker(0), worker(1)];
    await waitFor("two steps", () => server.received.length >= 2, 90_000);
    await delay(100); // inside the sleep after a step: no effect in flight
    const holder = (await row("k1")).lease_owner!;
    const victim = both.find((p) => holder.startsWith(`${p.host.name}:`)) ?? both.find((p) => holder.includes(`:${p.child.pid}:`))!;
    const survivor = both.find((p) => p !== victim)!;
    expect(victim).toBeDefined();
    victim.kill("SIGKILL");
    const done = await poll("completion", async () => {
      const r = await row("k1");
      return r.status === "completed" && r;
    });
    expect(JSON.parse(done.output!)).toEqual({ steps: 6 });
    expect(done.attempts).toBe(2);
    expect(survivor.log()).toContain("run k1 completed");
    expect(victim.log()).not.toContain("run k1 completed");
    if (net.mode === "netns") {
      expect(holder.startsWith(`${victim.host.name}:`)).toBe(true);
      expect(survivor.log()).toContain(`${survivor.host.name}:`);
    }
    // Each step's POST exactly once, each with its own idempotency key.
    expect(server.received.map((r) => r.body)).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(new Set(server.received.map((r) => r.key)).size).toBe(6);
    const show = await dweAsync(["show", "k1", "--json"], { cwd: w.dir, db: db.url });
    expect((JSON.parse(show.stdout) as { journal: { byOp: Record<string, number> } }).journal.byOp["http.request"]).toBe(6);
  });

  it("children, signals, timers and cron ticks work across hosts, each fired once", async () => {
    await setup();
    const startAs = async (id: string, entry: string, input: object) => {
      const r = await dweAsync(
        [
          "start",
          WORKER_WASM,
          "--entry",
          entry,
          "--id",
          id,
          "--allow-net",
          net.address,
          "--input",
          JSON.stringify({ url: hostUrl, ...input }),
        ],
        { cwd: w.dir, db: db.url },
      );
      expect(r.stderr).toBe("");
    };
    // Several runs at once so both hosts get work: a fan-out of 6 children, a run waiting for two
    // signals, and a run sleeping between steps (a durable timer), started from this "machine".
    await startAs("fan", "fanout", { n: 6, sleep_ms: 300 });
    await startAs("sig", "signals", { name: "go", count: 2, timeout_ms: -1 });
    await start("timer", { n: 2, sleep_ms: 700 });
    const add = await dweAsync(
      ["schedule", "add", "tick", WORKER_WASM, "--cron", "0 0 1 1 *", "--entry", "signals", "--input", '{"timeout_ms":0}'],
      {
        cwd: w.dir,
        db: db.url,
      },
    );
    expect(add.stderr).toBe("");
    const ws = [worker(0), worker(1)];
    await poll("sig waiting", async () => (await row("sig"))?.status === "suspended" || undefined);
    for (const data of ["1", "2"]) {
      const r = await dweAsync(["signal", "sig", "go", "--data", data], { cwd: w.dir, db: db.url });
      expect(r.stderr).toBe("");
    }
    // Three cron ticks made due by hand, each raced by both hosts.
    const ticks: number[] = [];
    for (let k = 0; k < 3; k++) {
      const tick = Date.now() - 1000 + k;
      ticks.push(tick);
      await sql(db.url, "UPDATE schedules SET next_tick = $1 WHERE name = 'tick'", [tick]);
      await poll(
        "tick fired",
        async () =>
          Number(
            ((await sql(db.url, "SELECT last_tick FROM schedules WHERE name = 'tick'")).rows[0] as { last_tick: unknown } | undefined)
              ?.last_tick,
          ) === tick || undefined,
      );
    }
    const finished = async (id: string) => {
      const r = await row(id);
      return r?.status === "completed" && r;
    };
    const fan = await poll("fan-out", () => finished("fan"));
    const sig = await poll("signals", () => finished("sig"));
    const timer = await poll("timer", () => finished("timer"));
    expect((JSON.parse(fan.output!) as { children: unknown }).children).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ i })));
    expect(JSON.parse(sig.output!)).toEqual({ got: [1, 2], timed_out: false });
    expect(JSON.parse(timer.output!)).toEqual({ steps: 2 });
    const bodies = server.received.map((r) => r.body).sort();
    expect(bodies).toEqual([...[0, 1, 2, 3, 4, 5].map((i) => `child ${i}`), "0", "1"].sort());
    const tickRuns = (await sql(db.url, "SELECT id FROM runs WHERE id LIKE 'tick.%' ORDER BY id")).rows.map((r: { id: string }) => r.id);
    expect(tickRuns).toEqual(ticks.map((t) => `tick.${t}`).sort());
    const logs = ws.map((p) => p.log()).join("");
    expect(logs.match(/started run tick\./g)?.length).toBe(3);
    // Every run completed exactly once, by one host or the other.
    for (const id of ["fan", "sig", "timer"]) expect(logs.split(`run ${id} completed`).length - 1).toBe(1);
  });

  it("a host cut off past its lease (SIGSTOP, then SIGCONT) is fenced: its late writes are refused", async () => {
    await setup();
    // Step 1's first request is held until the test lets it go: host A is stopped while it waits.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let heldOnce = false;
    server.hold = (r) => {
      if (r.body === "1" && !heldOnce) {
        heldOnce = true;
        return held;
      }
      return Promise.resolve();
    };
    await start("f1", { n: 3, sleep_ms: 200 });
    const a = worker(0);
    await waitFor("A's held request", () => heldOnce, 90_000);
    const before = await row("f1");
    if (net.mode === "netns") expect(before.lease_owner!.startsWith(`${a.host.name}:`)).toBe(true);
    a.kill("SIGSTOP");
    const b = worker(1);
    const done = await poll("completion by B", async () => {
      const r = await row("f1");
      return r.status === "completed" && r;
    });
    expect(done.lease_token).toBeGreaterThan(before.lease_token);
    const journalDone = await journal("f1");
    // A comes back: its HTTP answer arrives, it tries to record it and to renew its lease.
    release();
    a.kill("SIGCONT");
    await waitFor("A notices", () => a.log().includes("run f1 lost its lease"), 90_000);
    await b.stop("SIGTERM");
    await a.stop("SIGTERM");
    expect(await row("f1")).toEqual(done);
    expect(await journal("f1")).toEqual(journalDone);
    expect(a.log()).not.toContain("run f1 completed");
    expect(b.log()).toContain("run f1 completed");
    // Step 1 was sent twice (A's, in flight when it was cut off, and B's), with the same key.
    const ones = server.received.filter((r) => r.body === "1");
    expect(ones).toHaveLength(2);
    expect(ones[0]!.key).toBe(ones[1]!.key);
    expect(server.received.filter((r) => r.body === "0")).toHaveLength(1);
    expect(server.received.filter((r) => r.body === "2")).toHaveLength(1);
  });
});
