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
    (await sql(db.url, "SELECT id, status, convert_from(output, 'UTF8') AS output, attempts, lease_owner, lease_token::int AS lease_token FROM runs WHERE id = $1", [id]))
      .rows[0] as Row;
  const journal = async (id: string) =>
    (await sql(db.url, "SELECT seq, state, encode(payload, 'hex') AS p FROM journal WHERE rid = (SELECT rid FROM runs WHERE id = $1) ORDER BY seq", [id])).rows;
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
      ["start", WORKER_WASM, "--entry", "steps", "--id", id, "--allow-net", net.address, "--input", JSON.stringify({ url: hostUrl, ...input })],
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
    expect(JSON.parse(show.stdout).journal.byOp["http.request"]).toBe(6);
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
