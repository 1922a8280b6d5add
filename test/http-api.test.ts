// The HTTP API (`dwe server`, docs/http-api.md): a real server process on 127.0.0.1 over a real
// SQLite file, runs started through it and executed by a real `dwe worker` process, logs followed
// over Server-Sent Events, signals and cancellation through the API, and the refusals: no token,
// cross-site requests, malformed and oversized bodies.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dwe } from "../engine/api/dwe.js";
import { serve } from "../engine/server/server.js";
import { dweAsync, exited, workdir } from "./support/cli.js";
import { type Served, raw, startServer } from "./support/dwe-server.js";
import { CountingServer } from "./support/servers.js";
import { setTimeout as delay } from "node:timers/promises";
import { WORKER_WASM, startWorker, type WorkerProcess } from "./support/worker.js";

const TOKEN = "test-token-0123456789abcdef";

/** Polls `check` until it is true, or fails after a minute. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

interface ApiError {
  error: { code: string; message: string };
}

/** The events of a Server-Sent Events stream, read to its end. */
async function readEvents(res: Response): Promise<{ event: string; data: unknown }[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("event: "))
    .map((block) => {
      const [event, data] = block.split("\n");
      return { event: event!.slice("event: ".length), data: JSON.parse(data!.slice("data: ".length)) as unknown };
    });
}

describe("dwe server: the HTTP API", () => {
  const w = workdir("dwe-http-");
  const target = new CountingServer();
  let targetUrl = "";
  let api: Served;
  let guarded: Served;
  let worker: WorkerProcess;
  const module = { base64: readFileSync(WORKER_WASM).toString("base64"), name: "worker.wasm" };
  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const get = async <T>(path: string, url = api.url) => (await (await fetch(url + path)).json()) as T;
  const status = async (id: string) => (await get<{ status: string }>(`/api/runs/${id}`)).status;

  beforeAll(async () => {
    targetUrl = await target.start();
    api = await startServer(w, []);
    guarded = await startServer(w, ["--max-body", "64K"], { DWE_TOKEN: TOKEN });
    worker = startWorker(w);
  });
  afterAll(async () => {
    await worker?.stop("SIGKILL");
    for (const s of [api, guarded]) if (s) s.child.kill("SIGKILL");
    for (const s of [api, guarded]) if (s) await exited(s.child);
    await target.stop();
    w.cleanup();
  });

  it("POST /api/runs uploads a module; a dwe worker executes the run; its logs follow over SSE to the end", async () => {
    const res = await fetch(
      `${api.url}/api/runs`,
      json({ module, id: "steps-1", entry: "steps", input: { n: 3, url: targetUrl }, grants: { net: ["127.0.0.1"] } }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe("/api/runs/steps-1");
    const created = (await res.json()) as { id: string; status: string; name: string };
    expect(created).toMatchObject({ id: "steps-1", status: "pending", name: "worker.wasm" });

    const logs = await fetch(`${api.url}/api/runs/steps-1/logs?follow=1`);
    expect(logs.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readEvents(logs);
    expect(events.filter((e) => e.event === "log").map((e) => (e.data as { message: string }).message)).toEqual([
      "step 0",
      "step 1",
      "step 2",
    ]);
    expect(events.at(-1)).toEqual({ event: "end", data: { run: "steps-1", status: "completed" } });
    expect(target.received).toHaveLength(3);

    const shown = await get<{ status: string; output: unknown; journal: { byOp: Record<string, number> }; children: unknown[] }>(
      "/api/runs/steps-1",
    );
    expect(shown).toMatchObject({ status: "completed", output: { steps: 3 }, children: [] });
    expect(shown.journal.byOp["http.request"]).toBe(3);

    const journal = await get<{ entries: { seq: number; op: string; state: string; response?: unknown }[] }>("/api/runs/steps-1/journal");
    expect(journal.entries.map((e) => e.seq)).toEqual(journal.entries.map((_, i) => i + 1));
    const calls = journal.entries.filter((e) => e.op === "http.request");
    expect(calls).toHaveLength(3);
    expect(calls.every((e) => e.state === "ok")).toBe(true);
    expect(JSON.stringify(calls[0]!.response)).toContain("ok 1");
    expect((await get<{ entries: unknown[] }>(`/api/runs/steps-1/journal?from=${journal.entries.length}`)).entries).toHaveLength(1);
    // The journal's times, attempts and requests, as `dwe journal --json` prints them.
    const timed = await get<{
      status: string;
      attempts: { number: number; outcome: string | null; crashed: boolean }[];
      entries: {
        attempt: number | null;
        started_at: string | null;
        ended_at: string | null;
        duration_ms: number | null;
        request?: unknown;
      }[];
    }>("/api/runs/steps-1/journal");
    expect(timed.status).toBe("completed");
    expect(timed.attempts.map((a) => [a.number, a.outcome, a.crashed])).toEqual([[1, "completed", false]]);
    expect(timed.entries.every((e) => e.attempt === 1 && e.started_at !== null && e.ended_at !== null && e.duration_ms !== null)).toBe(
      true,
    );
    expect(timed.entries.filter((e) => JSON.stringify(e.request).includes(targetUrl)).length).toBe(3);

    const plain = await get<{ lines: { message: string }[] }>("/api/runs/steps-1/logs");
    expect(plain.lines.map((l) => l.message)).toEqual(["step 0", "step 1", "step 2"]);

    const page = await get<{ runs: { id: string }[]; next: string | null }>("/api/runs?status=completed&name=worker.wasm&created_after=1h");
    expect(page.runs.map((r) => r.id)).toContain("steps-1");
    expect(page.next).toBeNull();
    const one = await get<{ runs: unknown[]; next: string | null }>("/api/runs?limit=1");
    expect(one.runs).toHaveLength(1);
  });

  it("a signal sent with POST /api/runs/ID/signals/NAME continues a waiting run (module given by its sha256)", async () => {
    const sha256 = (await get<{ module: string }>("/api/runs/steps-1")).module;
    const res = await fetch(
      `${api.url}/api/runs`,
      json({ module: sha256, id: "wait-1", entry: "signals", input: { name: "approve", count: 1 } }),
    );
    expect(res.status).toBe(201);
    await until("wait-1 suspended", async () => (await status("wait-1")) === "suspended");
    const sent = await fetch(`${api.url}/api/runs/wait-1/signals/approve`, json({ by: "ana" }));
    expect(sent.status).toBe(201);
    expect(await sent.json()).toMatchObject({ run: "wait-1", name: "approve" });
    await until("wait-1 completed", async () => (await status("wait-1")) === "completed");
    expect((await get<{ output: unknown }>("/api/runs/wait-1")).output).toEqual({ got: [{ by: "ana" }], timed_out: false });
  });

  it("POST /api/runs/ID/cancel cancels a waiting run; a second cancel is 409, an unknown run 404", async () => {
    const sha256 = (await get<{ module: string }>("/api/runs/steps-1")).module;
    expect(
      (await fetch(`${api.url}/api/runs`, json({ module: { sha256 }, id: "cancel-1", entry: "signals", input: { name: "never" } }))).status,
    ).toBe(201);
    await until("cancel-1 suspended", async () => (await status("cancel-1")) === "suspended");
    const res = await fetch(`${api.url}/api/runs/cancel-1/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ cancelled: ["cancel-1"], requested: [] });
    expect(await status("cancel-1")).toBe("cancelled");
    const again = await fetch(`${api.url}/api/runs/cancel-1/cancel`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ApiError).error.code).toBe("run_state");
    const unknown = await fetch(`${api.url}/api/runs/no-such-run/cancel`, { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ApiError).error.code).toBe("run_not_found");
    expect((await fetch(`${api.url}/api/runs/no-such-run`)).status).toBe(404);
    expect((await fetch(`${api.url}/api/runs/no-such-run/logs?follow=1`)).status).toBe(404);
  });

  it("POST /api/runs/ID/fork starts a run from a copy of the journal that a worker continues", async () => {
    const res = await fetch(`${api.url}/api/runs/steps-1/fork`, json({ at: 1, id: "steps-fork" }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ id: "steps-fork", status: "pending", forked_from: { run: "steps-1", seq: 1 } });
    await until("steps-fork completed", async () => (await status("steps-fork")) === "completed");
    expect((await get<{ output: unknown }>("/api/runs/steps-fork")).output).toEqual({ steps: 3 });
    expect((await fetch(`${api.url}/api/runs/steps-1/fork`, json({ at: "one" }))).status).toBe(400);
    expect((await fetch(`${api.url}/api/runs/no-such-run/fork`, { method: "POST" })).status).toBe(404);
  });

  it("POST /api/runs/ID/terminate ends a waiting run now, reason terminated; a final run is 409, an unknown run 404", async () => {
    const sha256 = (await get<{ module: string }>("/api/runs/steps-1")).module;
    expect(
      (await fetch(`${api.url}/api/runs`, json({ module: { sha256 }, id: "terminate-1", entry: "signals", input: { name: "never" } })))
        .status,
    ).toBe(201);
    await until("terminate-1 suspended", async () => (await status("terminate-1")) === "suspended");
    const res = await fetch(`${api.url}/api/runs/terminate-1/terminate`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ terminated: ["terminate-1"] });
    expect(await get<{ status: string; error: unknown }>("/api/runs/terminate-1")).toMatchObject({
      status: "cancelled",
      error: { code: "terminated" },
    });
    const again = await fetch(`${api.url}/api/runs/terminate-1/terminate`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ApiError).error.code).toBe("run_state");
    const unknown = await fetch(`${api.url}/api/runs/no-such-run/terminate`, { method: "POST" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ApiError).error.code).toBe("run_not_found");
  });

  it("schedules: add, list, pause, resume, update and remove", async () => {
    const add = await fetch(
      `${api.url}/api/schedules`,
      json({ name: "nightly", cron: "0 3 * * *", tz: "Europe/Paris", module, entry: "steps", input: { n: 0 } }),
    );
    expect(add.status).toBe(201);
    expect(await add.json()).toMatchObject({ name: "nightly", cron: "0 3 * * *", tz: "Europe/Paris", paused: false, entry: "steps" });
    expect((await get<{ schedules: { name: string }[] }>("/api/schedules")).schedules.map((s) => s.name)).toEqual(["nightly"]);
    expect(await (await fetch(`${api.url}/api/schedules/nightly/pause`, { method: "POST" })).json()).toMatchObject({ paused: true });
    expect(await (await fetch(`${api.url}/api/schedules/nightly/resume`, { method: "POST" })).json()).toMatchObject({ paused: false });
    const patched = await fetch(`${api.url}/api/schedules/nightly`, { ...json({ cron: "@hourly", tz: null }), method: "PATCH" });
    expect(await patched.json()).toMatchObject({ cron: "@hourly", tz: "UTC" });
    expect(await (await fetch(`${api.url}/api/schedules/nightly`, { method: "DELETE" })).json()).toEqual({
      name: "nightly",
      removed: true,
    });
    expect((await fetch(`${api.url}/api/schedules/nightly`, { method: "DELETE" })).status).toBe(404);
    expect((await fetch(`${api.url}/api/schedules`, json({ name: "bad", cron: "nope", module }))).status).toBe(400);
  });

  it("malformed requests are 400 (bad JSON, unknown fields, wrong types, bad ids and filters), never a stack trace", async () => {
    const cases: [RequestInit & { path?: string }, number, string][] = [
      [{ method: "POST", headers: { "content-type": "application/json" }, body: '{"module": ' }, 400, "bad_json"],
      [json({ module, colour: "red" }), 400, "bad_request"],
      [json({ module, input: 1, timeout_ms: "soon" }), 400, "bad_request"],
      [json({ module: { base64: "not base64!" } }), 400, "bad_request"],
      [json({ module: { base64: Buffer.from("not wasm").toString("base64") } }), 400, "invalid_module"],
      [json({ module: "ab".repeat(32) }), 400, "usage"],
      [json({ module, id: "bad id!" }), 400, "usage"],
      [json({ module, grants: { dirs: ["/nonexistent-dir-for-dwe"] } }), 400, "usage"],
      [json([1, 2]), 400, "bad_request"],
      [{ method: "POST", headers: { "content-type": "application/json" }, body: Buffer.from([0xff, 0xfe]) }, 400, "bad_json"],
    ];
    for (const [init, code, errorCode] of cases) {
      const res = await fetch(`${api.url}/api/runs`, init);
      const body = (await res.json()) as ApiError;
      expect({ status: res.status, code: body.error.code }).toEqual({ status: code, code: errorCode });
      expect(body.error.message).not.toMatch(/\n\s+at /);
    }
    const gets: [string, number][] = [
      ["/api/runs?status=sleeping", 400],
      ["/api/runs?limit=0", 400],
      ["/api/runs?colour=red", 400],
      ["/api/runs?created_after=yesterday", 400],
      ["/api/runs/bad%20id", 400],
      ["/api/runs/%ZZ", 400],
      ["/api/runs/steps-1/journal?from=-1", 400],
      ["/api/nothing", 404],
    ];
    for (const [path, code] of gets) expect([path, (await fetch(api.url + path)).status]).toEqual([path, code]);
    const sig = await fetch(`${api.url}/api/runs/steps-1/signals/${encodeURIComponent("bad name!")}`, json(1));
    expect(sig.status).toBe(400);
    expect((await fetch(`${api.url}/api/runs`, { method: "DELETE" })).status).toBe(405);
  });

  it("a body over --max-body is refused with 413", async () => {
    const res = await fetch(`${guarded.url}/api/runs`, {
      ...json({ module: { base64: "A".repeat(100 * 1024) } }),
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ApiError).error.code).toBe("body_too_large");
    // Also where the endpoint reads no body.
    const pause = await fetch(`${guarded.url}/api/schedules/none/pause`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ pad: "A".repeat(100 * 1024) }),
    });
    expect(pause.status).toBe(413);
  });

  it("with a token, every request needs it as a bearer token", async () => {
    expect((await fetch(`${guarded.url}/api/runs`)).status).toBe(401);
    const wrong = await fetch(`${guarded.url}/api/runs`, { headers: { authorization: "Bearer wrong-token-0123456789" } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${guarded.url}/api/runs/steps-1/cancel`, { method: "POST" })).status).toBe(401);
    const right = await fetch(`${guarded.url}/api/runs/steps-1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
  });

  it("beyond loopback with a token: served to its bearers only, whatever the Host", async () => {
    const wide = await startServer(w, ["--listen", "0.0.0.0:0", "--token", TOKEN]);
    try {
      const port = new URL(wide.url).port;
      expect(wide.url).toBe(`http://0.0.0.0:${port}`);
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/api/runs/steps-1`)).status).toBe(401);
      const named = await raw(url, "GET", "/api/runs/steps-1", { host: `dwe.example:${port}`, authorization: `Bearer ${TOKEN}` });
      expect(named.status).toBe(200);
    } finally {
      wide.child.kill("SIGTERM");
      expect(await exited(wide.child)).toEqual({ code: 0, signal: null });
    }
  });

  it("a non-loopback --listen without a token is refused at start", async () => {
    const r = await dweAsync(["server", "--listen", "0.0.0.0:0"], { cwd: w.dir, db: w.db, env: { DWE_TOKEN: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dwe: error: --listen 0\.0\.0\.0:0 is reachable from other machines: give a token/);
    expect(r.stdout).toBe("");
    const short = await dweAsync(["server", "--listen", "0.0.0.0:0", "--token", "short"], { cwd: w.dir, db: w.db });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/bad --token/);
  });

  it("cross-site requests are refused: foreign Origin or Sec-Fetch-Site, form content types, a foreign Host; no CORS headers", async () => {
    const host = new URL(api.url).host;
    const post = (headers: Record<string, string>, body = "") =>
      raw(api.url, "POST", "/api/runs/cancel-1/cancel", { host, ...headers }, body);
    const evil = await post({ origin: "http://evil.example" });
    expect([evil.status, (JSON.parse(evil.body) as ApiError).error.code]).toEqual([403, "cross_site"]);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await post({ "content-type": "application/x-www-form-urlencoded" }, "a=b")).status).toBe(415);
    expect((await post({ "content-type": "multipart/form-data; boundary=x" }, "--x--")).status).toBe(415);
    expect((await post({ "content-type": "text/plain" }, "{}")).status).toBe(415);
    // The same request from this server's own origin gets through to the run (already cancelled: 409).
    expect((await post({ origin: `http://${host}`, "sec-fetch-site": "same-origin" })).status).toBe(409);
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host.
    const rebound = await raw(api.url, "GET", "/api/runs", { host: "evil.example:7070" });
    expect([rebound.status, (JSON.parse(rebound.body) as ApiError).error.code]).toEqual([403, "forbidden_host"]);
    const preflight = await raw(api.url, "OPTIONS", "/api/runs", {
      host,
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);
    for (const r of [evil, rebound, preflight]) expect(r.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("serve(dwe) from the library binds a free port, answers, and closes", async () => {
    const dwe = await Dwe.open({ db: w.db, cwd: w.dir });
    const server = await serve(dwe, { listen: "127.0.0.1:0" });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      expect((await get<{ id: string }>("/api/runs/steps-1", server.url)).id).toBe("steps-1");
      await expect(serve(dwe, { listen: "0.0.0.0:0" })).rejects.toThrow(/give a token/);
    } finally {
      await server.close();
      await dwe.close();
    }
    await expect(fetch(`${server.url}/api/runs`)).rejects.toThrow();
    expect(api.log()).not.toMatch(/\n\s+at /);
  });
});
