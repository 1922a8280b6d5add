// No effect after a lost lease (issue 10): an attempt performs an effect only right after a write
// fenced by its own lease token succeeded, and a process whose lease went unrenewed past its TTL by
// its own clock proves it again first. Both stores; real `dwe worker` processes stopped with SIGSTOP,
// a real HTTP server on 127.0.0.1 that tells which process sent each request.
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LeaseLost } from "../engine/kernel/errors.js";
import { executeAttempt } from "../engine/executor/run-executor.js";
import { EntryState } from "../engine/journal/entry.js";
import { openStoreAt } from "../engine/store/open.js";
import type { Lease, RunRecord, Store } from "../engine/store/types.js";
import { dweAsync, workdir } from "./support/cli.js";
import { createTestDatabase, pgTestsEnabled, type TestDatabase } from "./support/postgres.js";
import { processState, senderPid } from "./support/sender-pid.js";
import { CountingServer } from "./support/servers.js";
import { WORKER_WASM, startWorker, waitFor, type WorkerProcess } from "./support/worker.js";

const pgEnabled = await pgTestsEnabled("lease fencing");

interface Backend {
  name: string;
  enabled: boolean;
  /** A fresh, empty store location (SQLite file or PostgreSQL URL) and a working directory. */
  fresh: () => Promise<{ dir: string; db: string }>;
}

const cleanups: (() => Promise<void> | void)[] = [];
const backends: Backend[] = [
  {
    name: "sqlite",
    enabled: true,
    fresh: () => {
      const w = workdir("dwe-fence-");
      cleanups.push(w.cleanup);
      return Promise.resolve(w);
    },
  },
  {
    name: "postgres",
    enabled: pgEnabled,
    fresh: async () => {
      const w = workdir("dwe-fence-pg-");
      const db: TestDatabase = await createTestDatabase();
      cleanups.push(w.cleanup, db.drop);
      return { dir: w.dir, db: db.url };
    },
  },
];

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
});

for (const backend of backends) {
  const suite = backend.enabled ? describe : describe.skip;
  suite(`lease fencing on ${backend.name}`, () => {
    let w: { dir: string; db: string };
    let server: CountingServer;
    let url: string;
    let store: Store;
    const workers: WorkerProcess[] = [];

    beforeAll(async () => {
      server = new CountingServer();
      url = await server.start();
    });
    afterAll(async () => {
      await server.stop();
    });
    afterEach(async () => {
      for (const p of workers.splice(0)) {
        p.child.kill("SIGCONT");
        await p.stop("SIGKILL");
      }
      await store?.close();
      server.received.length = 0;
      server.hold = () => Promise.resolve();
      server.onConnection = () => undefined;
    });

    const start = async (id: string, input: object) => {
      w = await backend.fresh();
      const r = await dweAsync(
        ["start", WORKER_WASM, "--entry", "steps", "--id", id, "--allow-net", "127.0.0.1", "--input", JSON.stringify(input)],
        { cwd: w.dir, db: w.db },
      );
      expect(r.code, r.stderr).toBe(0);
      store = openStoreAt(w.db, "process");
    };
    const run = async (id: string): Promise<RunRecord> => (await store.getRun(id))!;

    it("a worker stopped right after its claim sends nothing when it resumes after another took the run over", async () => {
      await start("p1", { url, n: 1 });
      // B's request is held, so its intent is in flight when A resumes and reads the journal.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const senders: (number | null)[] = [];
      const a = startWorker(w, [], { DWE_TEST_STOP_AFTER_CLAIM: "1" });
      workers.push(a);
      const aPid = a.child.pid!;
      let bPid = -1;
      // Connections too: a request aborted by the heartbeat right after it was started must still show.
      const connected: (number | null)[] = [];
      server.onConnection = (port) => connected.push(senderPid(port, [aPid, bPid]));
      server.hold = (r) => {
        senders.push(senderPid(r.port, [aPid, bPid]));
        return held;
      };
      await waitFor("A stopped after its claim", () => processState(aPid) === "T", 60_000);
      const claimedByA = await run("p1");
      expect(claimedByA.leaseOwner).toContain(`:${aPid}:`);
      expect(server.received).toHaveLength(0);

      const b = startWorker(w);
      workers.push(b);
      bPid = b.child.pid!;
      await waitFor("B's request", () => server.received.length === 1, 60_000);
      expect((await run("p1")).leaseToken).toBe(claimedByA.leaseToken + 1);

      // A resumes: its attempt reads a journal holding B's intent in flight.
      a.child.kill("SIGCONT");
      await waitFor("A gives the run up", () => a.log().includes("run p1 lost its lease"), 60_000);
      release();
      await until("completion by B", async () => (await run("p1")).status === "completed").catch((err: unknown) => {
        throw new Error(`${String(err)}\nA: ${a.log()}\nB: ${b.log()}`);
      });
      expect(server.received).toHaveLength(1);
      expect(senders).toEqual([bPid]);
      expect(connected).not.toContain(aPid);
      await waitFor("B's report", () => b.log().includes("run p1 completed"), 30_000);
      expect(a.log()).not.toContain("run p1 completed");
    });

    it("an attempt whose lease was taken does not redo an intent it finds in flight (the redo is fenced)", async () => {
      await start("p2", { url, n: 1 });
      // A's lease, taken and then lost to B (token + 1) before A read the journal; its expiry is
      // still in the future by A's clock, so only the fenced write before the redo can stop it.
      const a: Lease = await store.acquireLease("p2", "test:a", 60_000, false);
      const b: Lease = await store.acquireLease("p2", "test:b", 60_000, true);
      // B's first effect: its request is held, so its intent stays in flight.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      server.hold = () => held;
      const attemptB = executeAttempt("p2", {
        store,
        owner: b.owner,
        cwd: w.dir,
        claimed: { lease: b, previous: "pending", wakeAt: null },
        heartbeat: false,
      }).catch((err: unknown) => err);
      await waitFor("B's request", () => server.received.length === 1);
      const journal = await store.readJournal(b.rid);
      expect(journal.map((e) => e.state)).toEqual([EntryState.Intent]);

      await expect(
        executeAttempt("p2", {
          store,
          owner: a.owner,
          cwd: w.dir,
          claimed: { lease: a, previous: "pending", wakeAt: null },
          heartbeat: false,
        }),
      ).rejects.toBeInstanceOf(LeaseLost);
      expect(server.received).toHaveLength(1);
      expect(await store.readJournal(b.rid)).toEqual(journal);
      release();
      expect(await attemptB).toMatchObject({ status: "completed" });
    });

    it("an attempt whose lease went unrenewed past its TTL proves it before an effect: renewed, it goes on", async () => {
      await start("p3", { url, n: 1 });
      const a: Lease = await store.acquireLease("p3", "test:a", 1_000, false);
      // Nobody renewed it (as after a pause): by this process's clock it has expired; nobody took it.
      a.expiresAt = Date.now() - 1;
      const end = await executeAttempt("p3", {
        store,
        owner: "test:a",
        cwd: w.dir,
        leaseTtlMs: 1_000,
        claimed: { lease: a, previous: "pending", wakeAt: null },
        heartbeat: false,
      });
      expect(end.status).toBe("completed");
      expect(server.received).toHaveLength(1);
      expect(a.expiresAt).toBeGreaterThan(Date.now());
    });
  });
}

/** Polls an async check until it returns a value other than undefined/false. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}
