// dwe as a library (docs/api.md), used the way a program embedding it would: `Dwe.open` on a real
// SQLite file and on real PostgreSQL, start, result, signal, logs with follow, an in-process worker
// that stops cleanly and whose runs another worker finishes. Imported from dist/, which is what
// `import { Dwe } from "dwe"` resolves to (package.json "exports").
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Dwe, RunFailed, RunNotFound, UsageError, type DweWorker } from "../dist/engine/api/index.js";
import { example, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { createTestDatabase, pgTestsEnabled, type TestDatabase } from "./support/postgres.js";

const HELLO = example("hello");
const WORKER = example("worker");

const pgEnabled = await pgTestsEnabled("the library API");

describe.each([
  ["SQLite", false],
  ["PostgreSQL", true],
] as const)("the library API on %s", (_name, pg) => {
  let w: ReturnType<typeof workdir>;
  let pgdb: TestDatabase | null = null;
  let dwe: Dwe;
  const workers: DweWorker[] = [];
  const server = new CountingServer();
  let url = "";

  beforeAll(async () => {
    url = await server.start();
    if (pg && pgEnabled) pgdb = await createTestDatabase();
  });
  afterAll(async () => {
    await server.stop();
    await pgdb?.drop();
  });
  beforeEach(async (ctx) => {
    if (pg && !pgEnabled) ctx.skip();
    w = workdir("dwe-library-");
    server.received.length = 0;
    dwe = await Dwe.open({ db: pg ? pgdb!.url : w.db });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop();
    await dwe?.close();
    w?.cleanup();
  });

  it("start executes the run here in the background and result() returns its output as a value", async () => {
    const run = await dwe.start(HELLO, { id: `hello-${pg ? "pg" : "sq"}`, input: { name: "ana" } });
    expect(run.id).toBe(`hello-${pg ? "pg" : "sq"}`);
    expect(await run.result()).toEqual({ greeting: "hello, ana" });
    const info = await dwe.get(run.id);
    expect(info.status).toBe("completed");
    expect(Buffer.from(info.input).toString()).toBe('{"name":"ana"}');
    expect(info.name).toBe("hello.wasm");
    const page = await dwe.list({ status: "completed", name: "hello.wasm" });
    expect(page.runs.map((r) => r.id)).toContain(run.id);
    expect(page.next).toBeNull();
    const lines = [];
    for await (const l of dwe.logs(run.id)) lines.push(l.message);
    expect(lines).toEqual(["hello, ana"]);
  });

  it("a run waiting for a signal suspends; dwe.signal wakes it and an in-process worker finishes it", async () => {
    const run = await dwe.start(WORKER, { entry: "signals", input: { name: "approve" } });
    // Executed here until it waits, then left suspended (nothing more can happen here).
    const waiting = run.ended({ signal: AbortSignal.timeout(1500) }).catch((e: unknown) => e);
    expect(await waiting).toBeInstanceOf(Error);
    expect((await run.info()).status).toBe("suspended");
    workers.push(await dwe.worker({ concurrency: 10, threads: 1, pollMs: 50 }));
    expect(await dwe.signal(run.id, "approve", { by: "ana" })).toBeGreaterThan(0);
    expect(await run.result()).toEqual({ got: [{ by: "ana" }], timed_out: false });
  });

  it("logs({follow: true}) yields each line as it is committed and ends when the run has ended", async () => {
    workers.push(await dwe.worker({ concurrency: 10, threads: 1, pollMs: 50 }));
    const run = await dwe.start(WORKER, {
      entry: "steps",
      input: { url, n: 3, sleep_ms: 200 },
      grants: { net: ["127.0.0.1"] },
      detach: true,
    });
    const seen: { message: string; posted: number }[] = [];
    for await (const l of dwe.logs(run.id, { follow: true, pollMs: 50 })) seen.push({ message: l.message, posted: server.received.length });
    expect(seen.map((s) => s.message)).toEqual(["step 0", "step 1", "step 2"]);
    // The first line arrived while the run was still going: before its last POST.
    expect(seen[0]!.posted).toBeLessThan(3);
    expect((await run.info()).status).toBe("completed");
  });

  it("a stopped worker gives its run back; another worker finishes it without repeating a journaled step", async () => {
    const first = await dwe.worker({ concurrency: 10, threads: 1, pollMs: 50, graceMs: 5000 });
    const run = await dwe.start(WORKER, {
      entry: "steps",
      input: { url, n: 4, sleep_ms: 400 },
      grants: { net: ["127.0.0.1"] },
      detach: true,
    });
    for (let i = 0; i < 400 && server.received.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    await first.stop();
    expect(first.inFlight).toBe(0);
    const stoppedAt = server.received.length;
    expect(stoppedAt).toBeLessThan(4);
    expect(["pending", "suspended"]).toContain((await run.info()).status);
    workers.push(await dwe.worker({ concurrency: 10, threads: 1, pollMs: 50 }));
    expect(await run.result()).toEqual({ steps: 4 });
    expect(server.received.map((r) => r.body)).toEqual(["0", "1", "2", "3"]);
  });

  it("errors are typed: RunFailed from result(), RunNotFound, UsageError for bad input with nothing written", async () => {
    const failing = await dwe.start(WORKER, { entry: "slow", input: "not json" });
    const err = await failing.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailed);
    expect((err as RunFailed).status).toBe("failed");
    expect((err as RunFailed).error.code).toBe("invalid_input");
    await expect(dwe.get("no-such-run")).rejects.toBeInstanceOf(RunNotFound);
    await expect(dwe.start(HELLO, { id: "bad id!" })).rejects.toBeInstanceOf(UsageError);
    await expect(dwe.start(HELLO, { grants: { net: ["not a host:x"] } })).rejects.toBeInstanceOf(UsageError);
    await expect(dwe.signal(failing.id, "bad name!")).rejects.toBeInstanceOf(UsageError);
  });
});

describe("Dwe.open on SQLite", () => {
  it("opens the database only when a call needs it: a start refused for bad input leaves no file", async () => {
    const w = workdir("dwe-library-open-");
    try {
      const dwe = await Dwe.open({ db: w.db });
      await expect(dwe.start(join(w.dir, "missing.wasm"))).rejects.toThrow("cannot read module");
      expect(existsSync(w.db)).toBe(false);
      await dwe.close();
      await expect(Dwe.open({ db: w.db, create: false })).rejects.toThrow(`no dwe database at ${w.db}`);
    } finally {
      w.cleanup();
    }
  });
});
