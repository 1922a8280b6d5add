// `dwe journal` and `dwe logs --follow` against real processes, on SQLite and PostgreSQL: a run
// SIGKILLed while an HTTP call is in flight shows its crash point (the attempt that ended without an
// outcome, the intent with no result); resumed, a second attempt; `--follow` streams entries and
// attempts until the run ends; logs follow a run of the effects example across a worker takeover.
// The crash tests use a guest whose HTTP calls each follow an `fs.append`: the append commits its
// result, so the HTTP call has nothing buffered before it and commits its intent on its own (an
// at-least-once call after uncommitted entries commits those instead, docs/architecture.md).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ChildProcess } from "node:child_process";
import { dweAsync, example, exited, spawnDwe, workdir } from "./support/cli.js";
import { effectsRunFlags } from "./support/effects-run.js";
import { opsGuest, type GuestStep } from "./support/op-guest.js";
import { CountingServer } from "./support/servers.js";
import { startWorker, waitFor } from "./support/worker.js";
import { createTestDatabase, pgTestsEnabled, type TestDatabase } from "./support/postgres.js";

const pgEnabled = await pgTestsEnabled("dwe journal on PostgreSQL");
let pgDb: TestDatabase | null = null;
let schemaN = 0;

interface EntryJson {
  seq: number;
  op: string;
  state: string;
  pending?: string;
  attempt: number | null;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  request?: unknown;
  response?: unknown;
}
interface AttemptJson {
  number: number;
  outcome: string | null;
  crashed: boolean;
  live: boolean;
  started_at: string;
  ended_at: string | null;
}
interface JournalJson {
  run: string;
  status: string;
  attempts: AttemptJson[];
  entries: EntryJson[];
}

/**
 * A guest of `n` steps, each `clock.now`, `fs.append` to /data/out.txt, `http.request` POST of the
 * step's number to `url` and `log` `step I`: nine entries for two steps, as the effects example's,
 * with every HTTP call's intent committed before it is sent.
 */
function appendThenPostGuest(dir: string, n: number, url: string): string {
  const steps: GuestStep[] = [];
  for (let i = 0; i < n; i++) {
    steps.push(
      { op: "clock.now", request: null },
      { op: "fs.append", request: { path: "/data/out.txt", data: Buffer.from(`${i}\n`) } },
      { op: "http.request", request: { method: "POST", url, body: Buffer.from(String(i)) } },
      { op: "log", request: { level: "info", message: `step ${i}` } },
    );
  }
  return opsGuest(dir, "append-then-post", steps);
}
const appendThenPostFlags = (id: string) => ["--id", id, "--dir", "files::/data", "--allow-net", "127.0.0.1"];

/** Collects a child's stdout; `lines()` so far. */
function output(child: ChildProcess): { text: () => string; lines: () => string[] } {
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  return { text: () => out, lines: () => out.split("\n").filter((l) => l !== "") };
}

beforeAll(async () => {
  if (pgEnabled) pgDb = await createTestDatabase();
});
afterAll(async () => {
  await pgDb?.drop();
});

describe.each(["sqlite", "postgres"] as const)("dwe journal and dwe logs --follow on %s", (backend) => {
  const enabled = backend === "sqlite" || pgEnabled;
  const test = enabled ? it : it.skip;
  let w: ReturnType<typeof workdir>;
  let db: string;
  let server: CountingServer;
  let url: string;

  beforeEach(async () => {
    w = workdir("dwe-journal-");
    mkdirSync(join(w.dir, "files"));
    db = backend === "sqlite" ? w.db : `${pgDb!.url}?schema=j${++schemaN}`;
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    await server.stop();
    w.cleanup();
  });
  const where = () => ({ cwd: w.dir, db });
  const journal = async (id: string, ...flags: string[]): Promise<JournalJson> => {
    const r = await dweAsync(["journal", id, "--json", ...flags], where());
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout) as JournalJson;
  };

  test("a run SIGKILLed during an HTTP call: the crash point, then the attempt that finished it, with times and requests", async () => {
    let arrived!: () => void;
    const first = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    server.hold = () => {
      arrived();
      return held;
    };
    const run = spawnDwe(["run", appendThenPostGuest(w.dir, 2, url), ...appendThenPostFlags("crashy")], where());
    await first;
    run.kill("SIGKILL");
    await exited(run);
    answer();

    const crashed = await journal("crashy");
    expect(crashed.status).toBe("running");
    expect(crashed.attempts).toMatchObject([{ number: 1, outcome: null, crashed: true, live: false, ended_at: null }]);
    expect(crashed.entries.map((e) => [e.seq, e.op, e.state, e.attempt])).toEqual([
      [1, "clock.now", "ok", 1],
      [2, "fs.append", "ok", 1],
      [3, "http.request", "intent", 1],
    ]);
    const call = crashed.entries[2]!;
    expect(call.pending).toBe("no-result");
    expect(call.request).toMatchObject({ url, method: "POST" });
    expect(call.started_at).not.toBeNull();
    expect(call.ended_at).toBeNull();
    for (const e of crashed.entries.slice(0, 2)) {
      expect(Date.parse(e.ended_at!)).toBeGreaterThanOrEqual(Date.parse(e.started_at!));
      expect(e.duration_ms).toBe(Date.parse(e.ended_at!) - Date.parse(e.started_at!));
    }
    const text = await dweAsync(["journal", "crashy"], where());
    expect(text.stdout).toContain("attempt 1  CRASHED: ended without an outcome");
    expect(text.stdout).toMatch(/ {5}3 {2}http\.request +intent! .*crash point/);

    server.hold = () => Promise.resolve();
    const resumed = await dweAsync(["resume", "crashy"], where());
    expect(resumed.code).toBe(0);
    const done = await journal("crashy");
    expect(done.status).toBe("completed");
    expect(done.attempts.map((a) => [a.number, a.outcome, a.crashed])).toEqual([
      [1, null, true],
      [2, "completed", false],
    ]);
    // Replayed entries keep the attempt that wrote them; the HTTP call redone and everything after is attempt 2's.
    expect(done.entries.map((e) => [e.seq, e.state, e.attempt])).toEqual([
      [1, "ok", 1],
      [2, "ok", 1],
      [3, "ok", 2],
      [4, "ok", 2],
      [5, "ok", 2],
      [6, "ok", 2],
      [7, "ok", 2],
      [8, "ok", 2],
      [9, "ok", 2],
    ]);
    expect(done.entries.every((e) => e.started_at !== null && e.ended_at !== null)).toBe(true);
    expect(done.entries[3]).toMatchObject({ op: "log", request: { level: "info", message: "step 0" } });
    expect((await journal("crashy", "--from", "8")).entries.map((e) => e.seq)).toEqual([8, 9]);
    const shown = (await dweAsync(["journal", "crashy"], where())).stdout;
    expect(shown.indexOf("attempt 1  CRASHED")).toBeLessThan(shown.indexOf("attempt 2  started"));
    expect(shown).toMatch(/attempt 2 {2}completed after/);
  });

  test("--follow --json streams attempts and entries (an intent, then its outcome) until the run ends", async () => {
    let arrived!: () => void;
    const first = new Promise<void>((r) => (arrived = r));
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    let n = 0;
    server.hold = () => {
      if (++n > 1) return Promise.resolve();
      arrived();
      return held;
    };
    expect((await dweAsync(["start", appendThenPostGuest(w.dir, 2, url), ...appendThenPostFlags("followed")], where())).code).toBe(0);
    const follower = spawnDwe(["journal", "followed", "--follow", "--json"], where());
    const out = output(follower);
    const worker = startWorker({ dir: w.dir, db });
    try {
      await first;
      // The HTTP call is held: the follower has told its intent, in flight, and nothing of the run's end.
      await waitFor("the intent of the held call", () => out.lines().some((l) => l.includes('"seq":3') && l.includes('"in-flight"')));
      expect(out.text()).not.toContain('"end"');
      answer();
      expect((await exited(follower)).code).toBe(0);
    } finally {
      await worker.stop();
    }
    const events = out.lines().map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    expect(events[0]).toHaveProperty("attempt_start");
    expect(events[events.length - 1]).toEqual({ end: { status: "completed" } });
    expect(events[events.length - 2]).toHaveProperty("attempt_end.outcome", "completed");
    const seq3 = events.filter((e) => e.entry?.seq === 3).map((e) => e.entry!.state);
    expect(seq3).toEqual(["intent", "ok"]);
    const seqs = [...new Set(events.filter((e) => e.entry).map((e) => e.entry!.seq))];
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("dwe logs --follow prints every line once across a worker SIGKILLed mid-run and the worker that takes over", async () => {
    let arrived!: () => void;
    const second = new Promise<void>((r) => (arrived = r));
    let n = 0;
    server.hold = () => {
      if (++n === 2) {
        arrived();
        return new Promise<void>(() => undefined); // never answered: its worker is killed
      }
      return Promise.resolve();
    };
    expect((await dweAsync(["start", example("effects"), ...effectsRunFlags("taken", { n: 3, file: "out.txt", url })], where())).code).toBe(
      0,
    );
    const follower = spawnDwe(["logs", "taken", "--follow"], where());
    const out = output(follower);
    const w1 = startWorker({ dir: w.dir, db });
    await second;
    await waitFor("step 0 followed", () => out.lines().includes("step 0"));
    await w1.stop("SIGKILL");
    expect(out.lines()).toEqual(["step 0"]);
    const w2 = startWorker({ dir: w.dir, db });
    try {
      expect((await exited(follower)).code).toBe(0);
    } finally {
      await w2.stop();
    }
    expect(out.lines()).toEqual(["step 0", "step 1", "step 2"]);
    const j = await journal("taken");
    expect(j.attempts.map((a) => [a.number, a.outcome, a.crashed])).toEqual([
      [1, null, true],
      [2, "completed", false],
    ]);
  });
});
