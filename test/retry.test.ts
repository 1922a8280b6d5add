// `dwe retry` against real processes, on SQLite and PostgreSQL: a run that failed for lack of a
// `--dir` grant after an HTTP call is retried with the grant; the HTTP call is replayed (the server
// sees it once), the file read is made again live; `--from` cuts earlier; the cut entries stay in
// the attempt history; runs that are not failed are refused with the data unchanged; `--upgrade`
// is checked as resume checks it; the HTTP API's retry route cuts and leaves the run to a worker.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { startServer } from "./support/dwe-server.js";
import { opsGuest } from "./support/op-guest.js";
import { CountingServer } from "./support/servers.js";
import { createTestDatabase, pgTestsEnabled, sql, type TestDatabase } from "./support/postgres.js";
import { readDb, waitFor } from "./support/worker.js";

const pgEnabled = await pgTestsEnabled("dwe retry on PostgreSQL");
let pgDb: TestDatabase | null = null;
let schemaN = 0;

interface EntryJson {
  seq: number;
  op: string;
  state: string;
  attempt: number | null;
}
interface JournalJson {
  status: string;
  attempts: { number: number; outcome: string | null }[];
  entries: EntryJson[];
  retries: { number: number; from_seq: number; after_attempt: number; error: { code: string } | null; cut: EntryJson[] }[];
}
interface RunJson {
  id: string;
  status: string;
  error: { code: string; message: string } | null;
  grants: { dirs: unknown[] };
  /** An opsGuest's output: the last result's MessagePack bytes. */
  output: { base64: string } | null;
}

/** The text in a run's output bytes. */
const outputText = (run: RunJson): string => Buffer.from(run.output?.base64 ?? "", "base64").toString();

beforeAll(async () => {
  if (pgEnabled) pgDb = await createTestDatabase();
});
afterAll(async () => {
  await pgDb?.drop();
});

describe.each(["sqlite", "postgres"] as const)("dwe retry on %s", (backend) => {
  const enabled = backend === "sqlite" || pgEnabled;
  const test = enabled ? it : it.skip;
  let w: ReturnType<typeof workdir>;
  let db: string;
  let server: CountingServer;
  let url: string;

  beforeEach(async () => {
    w = workdir("dwe-retry-");
    mkdirSync(join(w.dir, "files"));
    writeFileSync(join(w.dir, "files", "in.txt"), "hello from the file");
    db = backend === "sqlite" ? w.db : `${pgDb!.url}?schema=r${++schemaN}`;
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    await server.stop();
    w.cleanup();
  });
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db });
  const show = async (id: string) => JSON.parse((await cli(["show", id, "--json"])).stdout) as RunJson;
  const journal = async (id: string) => JSON.parse((await cli(["journal", id, "--json"])).stdout) as JournalJson;
  /** An HTTP call to the counting server (a side effect), then a read of a file under /data. */
  const calls = (path = "/data/in.txt") => [
    { op: "http.request", request: { method: "POST", url, body: "once" } },
    { op: "fs.read", request: { path } },
  ];
  /** A run of `calls` with the net granted and no directory: the read is denied and the run fails. */
  const failedRun = async (id: string, module = opsGuest(w.dir, "post-then-read", calls())) => {
    const sent = server.received.length;
    const r = await cli(["run", module, "--id", id, "--allow-net", "127.0.0.1", "--quiet"]);
    expect(r.code).toBe(1);
    expect((await show(id)).status).toBe("failed");
    expect(server.received).toHaveLength(sent + 1);
    return module;
  };
  /** The database's rows that a retry writes, to show a refused one changed nothing. */
  const rows = async (): Promise<unknown> => {
    const q = "SELECT r.id, r.status, r.error, r.config, j.seq, j.state FROM runs r LEFT JOIN journal j USING (rid) ORDER BY r.id, j.seq";
    if (backend === "sqlite") return readDb(db, (c) => c.prepare(q).raw().all());
    const u = new URL(db);
    const schema = u.searchParams.get("schema")!;
    u.search = "";
    return (await sql(u.toString(), q, [], schema)).rows;
  };

  test("a run that failed for lack of --dir is retried with it: the HTTP call before is replayed, the denied read runs again live", async () => {
    await failedRun("r1");
    const before = await journal("r1");
    expect(before.entries.map((e) => [e.seq, e.op, e.state])).toEqual([
      [1, "http.request", "ok"],
      [2, "fs.read", "error"],
    ]);

    const r = await cli(["retry", "r1", "--dir", "files:/data", "--grant", "--json", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run.status).toBe("completed");
    expect(outputText(run)).toContain("hello from the file");
    expect(server.received).toHaveLength(1); // replayed, not sent again

    const after = await journal("r1");
    expect(after.entries.map((e) => [e.seq, e.op, e.state, e.attempt])).toEqual([
      [1, "http.request", "ok", 1],
      [2, "fs.read", "ok", 2],
      [3, "run.output", "ok", 2],
    ]);
    expect(after.attempts.map((a) => [a.number, a.outcome])).toEqual([
      [1, "failed"],
      [2, "completed"],
    ]);
    expect(after.retries).toHaveLength(1);
    expect(after.retries[0]).toMatchObject({ number: 1, from_seq: 2, after_attempt: 1, error: { code: "denied" } });
    expect(after.retries[0]!.cut.map((e) => [e.seq, e.op, e.state, e.attempt])).toEqual([[2, "fs.read", "error", 1]]);

    const text = (await cli(["journal", "r1"])).stdout;
    expect(text).toMatch(
      /retry 1 +at \S+ after attempt 1 \(the run had failed: denied: .*\): journal cut from seq 2 \(1 entry\):\n +2 +fs\.read +error/,
    );
    expect((await cli(["show", "r1"])).stdout).toMatch(/retried +\S+ after attempt 1 \(denied\): journal cut from seq 2 \(1 entry/);
    expect((await show("r1")).grants.dirs).toHaveLength(1);
  });

  test("--from SEQ cuts earlier: the HTTP call from that seq is made again", async () => {
    await failedRun("r2");
    // Grant flags replace the stored grants (as resume's do): the net is given again, for the call made again.
    const r = await cli(["retry", "r2", "--from", "1", "--dir", "files:/data", "--allow-net", "127.0.0.1", "--grant", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await show("r2")).status).toBe("completed");
    expect(server.received).toHaveLength(2);
    const j = await journal("r2");
    expect(j.retries[0]!.cut.map((e) => e.op)).toEqual(["http.request", "fs.read"]);
    expect(j.entries.map((e) => [e.op, e.attempt])).toEqual([
      ["http.request", 2],
      ["fs.read", 2],
      ["run.output", 2],
    ]);
  });

  test("journal --follow shows a retry made while it was not looking: the cut entries, then the new attempt writing those seqs again", async () => {
    // clock.now (seq 1), a signal wait (seq 2), the denied read (seq 3).
    const m = opsGuest(w.dir, "now-wait-read", [
      { op: "clock.now", request: null },
      { op: "signal.wait", request: { name: "go" } },
      calls()[1]!,
    ]);
    expect((await cli(["run", m, "--id", "f1", "--quiet"])).code).toBe(75);
    const follower = spawnDwe(["journal", "f1", "--follow", "--json"], { cwd: w.dir, db });
    let out = "";
    follower.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    const events = () =>
      out
        .split("\n")
        .filter((l) => l !== "")
        .map(
          (l) =>
            JSON.parse(l) as Record<
              string,
              { seq?: number; state?: string; number?: number; attempt?: number; pending?: string; status?: string; cut?: EntryJson[] }
            >,
        );
    await waitFor("the wait followed", () => events().some((e) => e.entry?.seq === 2 && e.entry.pending === "waiting"));
    // Stopped, the follower sees neither the failure nor the retry as they happen: seq 1 was told as final.
    follower.kill("SIGSTOP");
    try {
      expect((await cli(["signal", "f1", "go"])).code).toBe(0);
      expect((await cli(["resume", "f1", "--quiet"])).code).toBe(1); // denied at seq 3
      const r = await cli(["retry", "f1", "--from", "1", "--dir", "files:/data", "--grant", "--quiet"]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      follower.kill("SIGCONT");
    }
    expect((await exited(follower)).code).toBe(0);
    const told = events().map((e) => {
      const [type, v] = Object.entries(e)[0]!;
      return type === "entry"
        ? `entry ${v.seq} ${v.state}${v.pending ? ` ${v.pending}` : ""} (attempt ${v.attempt})`
        : type === "retry"
          ? `retry ${v.number} cut ${v.cut!.map((c) => c.seq).join(",")}`
          : type === "end"
            ? `end ${v.status}`
            : `${type} ${v.number}`;
    });
    expect(told).toEqual([
      "attempt_start 1",
      "entry 1 ok (attempt 1)",
      "entry 2 intent waiting (attempt 1)",
      "attempt_end 1",
      // What the stopped follower missed, in order: attempt 2 failed, the retry cut seqs 1-3, attempt 3 wrote them again.
      "attempt_start 2",
      "attempt_end 2",
      "retry 1 cut 1,2,3",
      "attempt_start 3",
      "entry 1 ok (attempt 3)",
      "entry 2 ok (attempt 3)",
      "entry 3 ok (attempt 3)",
      "entry 4 ok (attempt 3)",
      "attempt_end 3",
      "end completed",
    ]);
  });

  test("dwe logs shows a retried run's lines once each; --all adds the lines the retry cut, marked, where they were logged", async () => {
    const m = opsGuest(w.dir, "log-log-read", [{ op: "log", request: "one" }, { op: "log", request: "two" }, calls()[1]!]);
    expect((await cli(["run", m, "--id", "lg", "--quiet"])).code).toBe(1);
    expect((await cli(["logs", "lg"])).stdout).toBe("one\ntwo\n");
    const r = await cli(["retry", "lg", "--from", "2", "--dir", "files:/data", "--grant", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await cli(["logs", "lg"])).stdout).toBe("one\ntwo\n");
    expect((await cli(["logs", "lg", "--all"])).stdout).toBe("one\n[cut by retry 1] two\ntwo\n");
    expect((await cli(["logs", "lg", "--all", "--timestamps"])).stdout).toMatch(
      /^\S+ info  one\n\S+ info  \[cut by retry 1\] two\n\S+ info  two\n$/,
    );
    const json = (await cli(["logs", "lg", "--all", "--json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number; message: string; cut?: number });
    expect(json.map((l) => [l.seq, l.message, l.cut])).toEqual([
      [1, "one", undefined],
      [2, "two", 1],
      [2, "two", undefined],
    ]);
    expect((await cli(["logs", "lg", "--all", "--follow"])).stdout).toBe("one\n[cut by retry 1] two\ntwo\n");
    const served = await startServer({ dir: w.dir, db }, []);
    try {
      const lines = async (query: string) =>
        (
          (await (await fetch(`${served.url}/api/runs/lg/logs${query}`)).json()) as {
            lines: { seq: number; message: string; cut?: number }[];
          }
        ).lines.map((l) => [l.seq, l.message, l.cut]);
      expect(await lines("")).toEqual([
        [1, "one", undefined],
        [2, "two", undefined],
      ]);
      expect(await lines("?all=1")).toEqual(json.map((l) => [l.seq, l.message, l.cut]));
      const sse = await (await fetch(`${served.url}/api/runs/lg/logs?follow=1&all=1`)).text();
      expect(sse.match(/^event: log$/gm)).toHaveLength(3);
      expect(sse).toContain('"cut":1');
    } finally {
      served.child.kill("SIGTERM");
      await exited(served.child);
    }
  });

  test("a retry that fails again can be retried again; each retry keeps what it cut", async () => {
    await failedRun("r3");
    const again = await cli(["retry", "r3", "--quiet"]); // same grants: denied again
    expect(again.code).toBe(1);
    expect((await show("r3")).status).toBe("failed");
    const ok = await cli(["retry", "r3", "--dir", "files:/data", "--grant", "--quiet"]);
    expect(ok.code, ok.stderr).toBe(0);
    const j = await journal("r3");
    expect(j.retries.map((x) => [x.number, x.from_seq, x.after_attempt, x.cut.length])).toEqual([
      [1, 2, 1, 1],
      [2, 2, 2, 1],
    ]);
    expect(server.received).toHaveLength(1);
  });

  test("runs that are not failed are refused with one line, and nothing changes", async () => {
    const m = opsGuest(w.dir, "post-only", calls().slice(0, 1));
    expect((await cli(["run", m, "--id", "done", "--allow-net", "127.0.0.1", "--quiet"])).code).toBe(0);
    expect((await cli(["run", m, "--id", "waiting", "--detach"])).code).toBe(0);
    await failedRun("bad-seq");
    const before = await rows();
    const cases: [string[], RegExp][] = [
      [["done"], /^dwe: error: run done is completed; there is nothing to retry/],
      [["waiting"], /^dwe: error: run waiting is pending, not failed; continue it with `dwe resume waiting`/],
      [["nobody"], /^dwe: error: no run with id 'nobody'/],
      [["bad-seq", "--from", "4"], /^dwe: error: bad --from '4': run bad-seq has 2 journal entries; retry from 1…3/],
      [["bad-seq", "--from", "x"], /^dwe: error: bad --from 'x': expected a journal seq/],
      [["bad-seq", "--dir", "files:/data"], /^dwe: error: resuming run bad-seq with .* would widen the grants .*; add --grant/],
      [["bad-seq", "--upgrade", m, "--detach"], /^dwe: error: --upgrade needs the retry to execute here/],
    ];
    for (const [args, line] of cases) {
      const r = await cli(["retry", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(line);
    }
    expect(await rows()).toEqual(before);
    expect(server.received).toHaveLength(2); // "done" and "bad-seq", once each
  });

  test("--upgrade is checked on the part kept: a module diverging there is refused, one that differs only at the cut continues", async () => {
    await failedRun("up");
    const before = await rows();
    const swapped = opsGuest(w.dir, "swapped", [...calls()].reverse());
    const refused = await cli(["retry", "up", "--upgrade", swapped, "--dir", "files:/data", "--grant"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("upgrade refused, the run is unchanged");
    expect(await rows()).toEqual(before);
    expect((await journal("up")).retries).toEqual([]);

    // Reads another file at seq 2, the entry the retry cuts: the kept part (seq 1) replays on it.
    writeFileSync(join(w.dir, "files", "other.txt"), "the other file");
    const other = opsGuest(w.dir, "other", calls("/data/other.txt"));
    const r = await cli(["retry", "up", "--upgrade", other, "--dir", "files:/data", "--grant", "--json", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run.status).toBe("completed");
    expect(outputText(run)).toContain("the other file");
    expect(server.received).toHaveLength(1);
  });

  test("--detach cuts and leaves the run pending; `dwe resume` then continues it", async () => {
    await failedRun("det");
    const r = await cli(["retry", "det", "--detach", "--dir", "files:/data", "--grant", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "det", status: "pending", error: null });
    expect((await journal("det")).entries.map((e) => e.op)).toEqual(["http.request"]);
    const resumed = await cli(["resume", "det", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await show("det")).status).toBe("completed");
    expect(server.received).toHaveLength(1);
  });

  test("POST /api/runs/ID/retry cuts the journal and leaves the run pending for a worker; refusals are 404, 409 and 400", async () => {
    await failedRun("web");
    const m = opsGuest(w.dir, "post-only", calls().slice(0, 1));
    expect((await cli(["run", m, "--id", "web-done", "--allow-net", "127.0.0.1", "--quiet"])).code).toBe(0);
    const served = await startServer({ dir: w.dir, db }, []);
    try {
      const post = (id: string, body: unknown) =>
        fetch(`${served.url}/api/runs/${id}/retry`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const before = await rows();
      const refusals: [string, unknown, number, string][] = [
        ["nobody", {}, 404, "run_not_found"],
        ["web-done", {}, 409, "run_state"],
        ["web", { from: 9 }, 400, "usage"],
        ["web", { from: "one" }, 400, "bad_request"],
        ["web", { grants: { dirs: ["files:/data"] } }, 400, "usage"], // widens: needs widen_grants
        ["web", { at: 1 }, 400, "bad_request"],
      ];
      for (const [id, body, status, code] of refusals) {
        const res = await post(id, body);
        expect(res.status, JSON.stringify(body)).toBe(status);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      }
      expect(await rows()).toEqual(before);

      const res = await post("web", { grants: { dirs: ["files:/data"] }, widen_grants: true });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: "web", status: "pending", error: null, grants: { dirs: [{ guest: "/data" }] } });
    } finally {
      served.child.kill("SIGTERM");
      await exited(served.child);
    }
    expect((await journal("web")).retries.map((r) => r.from_seq)).toEqual([2]);
    const resumed = await cli(["resume", "web", "--quiet"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(server.received).toHaveLength(2); // "web" once, "web-done" once: the retry replayed web's call
  });
});
