// `dwe worker --metrics` and `dwe server --metrics` (docs/observability.md): a real worker process
// serves Prometheus metrics on 127.0.0.1; real runs move its counters, recorded in its executor
// threads and scraped over HTTP from its supervisor.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ChildProcess } from "node:child_process";
import { dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { parseExposition, telemetryGuest } from "./support/telemetry-guest.js";
import { runsIn, waitFor } from "./support/worker.js";

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const res = await fetch(url, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parseExposition(await res.text());
}

/** Scrapes until `ready` holds (the threads report before each outcome and every second): behaviour, not a time. */
async function scrapeUntil(url: string, ready: (m: Map<string, number>) => boolean, ms = 30_000): Promise<Map<string, number>> {
  const end = Date.now() + ms;
  for (;;) {
    const m = await scrape(url);
    if (ready(m)) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for the metrics at ${url}; last scrape:\n${[...m].join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The first line the process prints on stdout (the bound address). */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code} before printing its address`)));
  });
}

describe("Prometheus metrics", () => {
  let w: ReturnType<typeof workdir>;
  let server: CountingServer;
  let url: string;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    w = workdir("dwe-metrics-");
    server = new CountingServer();
    url = await server.start();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill("SIGKILL");
      await exited(c);
    }
    await server.stop();
    w.cleanup();
  });

  it("a worker's /metrics counts the runs it executed in its threads: started, completed, attempts, journal entries by op, host calls, replays, claims", async () => {
    const wasm = telemetryGuest(w.dir, url, 400);
    const worker = spawnDwe(["worker", "--metrics", "127.0.0.1:0", "--threads", "2", "--suspend-after", "100"], {
      cwd: w.dir,
      db: w.db,
      env: { DWE_POLL_MS: "100", DWE_LEASE_TTL_MS: "5000" },
    });
    children.push(worker);
    const endpoint = await firstLine(worker);
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(endpoint);
    expect(before.get("dwe_runs_completed_total")).toBe(0);
    expect(before.get('dwe_journal_entries_appended_total{op="clock.now"}')).toBeUndefined();

    const n = 3;
    for (let i = 0; i < n; i++) {
      const r = await dweAsync(["start", wasm, "--id", `m${i}`, "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db });
      expect(r.code, r.stderr).toBe(0);
    }
    await waitFor("the runs to complete", () => runsIn(w.db, "status = 'completed'").length === n, 60_000);
    const after = await scrapeUntil(endpoint, (m) => m.get("dwe_runs_completed_total") === n);
    expect(server.received.length).toBe(n);
    expect(after.get("dwe_runs_started_total")).toBe(n);
    expect(after.get("dwe_runs_failed_total")).toBe(0);
    // Each run slept past --suspend-after (suspended), was woken and replayed, and completed.
    expect(after.get('dwe_attempts_total{outcome="suspended"}')).toBe(n);
    expect(after.get('dwe_attempts_total{outcome="completed"}')).toBe(n);
    expect(after.get("dwe_replay_seconds_count")).toBe(n);
    // Entries written: two clock.now each (never again on replay), one per request: its outcome
    // (the sleep's end is buffered before it, so that commit is the request's one, no intent).
    expect(after.get('dwe_journal_entries_appended_total{op="clock.now"}')).toBe(2 * n);
    expect(after.get('dwe_journal_entries_appended_total{op="http.request"}')).toBe(n);
    expect(after.get('dwe_journal_entries_appended_total{op="sleep"}')).toBe(2 * n);
    expect(after.get('dwe_host_call_seconds_count{op="clock.now"}')).toBe(2 * n);
    expect(after.get('dwe_host_call_seconds_count{op="http.request"}')).toBe(n);
    expect(after.get("dwe_journal_commit_seconds_count")).toBeGreaterThan(0);
    // Five rows each: clock.now, the sleep's intent and end, the request's outcome, clock.now.
    expect(after.get("dwe_journal_commit_entries_sum")).toBe(5 * n);
    expect(after.get("dwe_claim_seconds_count")).toBeGreaterThan(before.get("dwe_claim_seconds_count")!);
    expect(after.get('dwe_runs{status="completed"}')).toBe(n);
    expect(after.get("dwe_runs_in_flight")).toBe(0);
    expect(after.get("dwe_leases_lost_total")).toBe(0);
  });

  it("a run whose lease another process took counts as a lease lost", async () => {
    const wasm = telemetryGuest(w.dir, url, 0);
    server.hold = () => new Promise((r) => setTimeout(r, 3_000));
    const worker = spawnDwe(["worker", "--metrics", "127.0.0.1:0"], {
      cwd: w.dir,
      db: w.db,
      env: { DWE_POLL_MS: "100", DWE_LEASE_TTL_MS: "1000" },
    });
    children.push(worker);
    const endpoint = await firstLine(worker);
    const r = await dweAsync(["start", wasm, "--id", "stolen", "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    await waitFor("the request", () => server.received.length === 1, 30_000);
    // Frozen past its lease while its request is held: another process takes the run and finishes it.
    worker.kill("SIGSTOP");
    await new Promise((res) => setTimeout(res, 2_500));
    server.hold = () => Promise.resolve();
    const other = await dweAsync(["resume", "stolen"], { cwd: w.dir, db: w.db });
    expect(other.code, other.stderr).toBe(0);
    worker.kill("SIGCONT");
    const m = await scrapeUntil(endpoint, (s) => s.get("dwe_leases_lost_total") === 1);
    expect(m.get('dwe_attempts_total{outcome="lease_lost"}')).toBe(1);
    expect(m.get("dwe_runs_completed_total")).toBe(0);
  });

  it("beyond loopback --metrics needs a token, and a scrape must carry it", async () => {
    const refused = await dweAsync(["worker", "--metrics", "0.0.0.0:0"], { cwd: w.dir, db: w.db });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^dwe: error: --metrics 0\.0\.0\.0:0 is reachable from other machines: give a token \(--metrics-token/m);
    const bad = await dweAsync(["worker", "--metrics", "nowhere"], { cwd: w.dir, db: w.db });
    expect(bad.stderr).toContain("bad --metrics 'nowhere': give HOST:PORT");
    const short = await dweAsync(["worker", "--metrics", "127.0.0.1:0", "--metrics-token", "short"], { cwd: w.dir, db: w.db });
    expect(short.stderr).toContain("bad --metrics-token: use at least 16 characters");

    const token = "a-scrape-token-0123456789";
    const worker = spawnDwe(["worker", "--metrics", "127.0.0.1:0", "--metrics-token", token], { cwd: w.dir, db: w.db });
    children.push(worker);
    const endpoint = await firstLine(worker);
    expect((await fetch(endpoint)).status).toBe(401);
    expect((await fetch(endpoint.replace("/metrics", "/api/runs"), { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const m = await scrape(endpoint, { authorization: `Bearer ${token}` });
    expect(m.get("dwe_runs_started_total")).toBe(0);
  });

  it("dwe server --metrics serves /metrics beside the API, with the runs by status", async () => {
    const wasm = telemetryGuest(w.dir, url, 0);
    const r = await dweAsync(["run", wasm, "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    const plain = spawnDwe(["server", "--listen", "127.0.0.1:0"], { cwd: w.dir, db: w.db });
    children.push(plain);
    expect((await fetch(`${await firstLine(plain)}/metrics`)).status).toBe(404);
    const srv = spawnDwe(["server", "--listen", "127.0.0.1:0", "--metrics"], { cwd: w.dir, db: w.db });
    children.push(srv);
    const base = await firstLine(srv);
    const m = await scrape(`${base}/metrics`);
    expect(m.get('dwe_runs{status="completed"}')).toBe(1);
    expect(m.get("dwe_runs_in_flight")).toBe(0);
  });
});
