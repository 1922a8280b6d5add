// wasi:http for components: a component's outgoing request is one journaled `http.request` effect,
// under the same rules as the dwe ABI's. Killed with SIGKILL while the server holds the request
// and resumed with `dwe resume`, it is sent again at most once more, with the same Idempotency-Key,
// and the run completes with the response (or, asked at-most-once, the guest gets an error instead
// of a second request); a host that was not granted is an error the guest sees, and nothing is sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dweAsync, exited, ROOT, spawnDwe, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";

const JCO = join(ROOT, "node_modules", "@bytecodealliance", "jco", "dist", "jco.js");
/** test/fixtures/components/http-get: `http-get METHOD AUTHORITY PATH [BODY] [at-most-once]`. */
const FIXTURE = join(ROOT, "test", "fixtures", "components", "http-get", "http-get.wasm");

describe("wasi:http in a component", () => {
  const w = workdir();
  const server = new CountingServer();
  let component: string;
  let authority: string;
  const cli = (args: string[]) => dweAsync(args, { cwd: w.dir, db: w.db });
  const requestsTo = (path: string) => server.received.filter((r) => r.url === path);

  beforeAll(async () => {
    authority = new URL(await server.start()).host;
    component = join(w.dir, "http-get.component.wasm");
    const made = spawnSync(process.execPath, [JCO, "new", FIXTURE, "--wasi-command", "-o", component], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
  });
  afterAll(async () => {
    await server.stop();
    w.cleanup();
  });

  /** Runs the component until the server holds its first request to `path`, then SIGKILLs dwe. */
  async function killDuringRequest(id: string, path: string, extra: string[]): Promise<void> {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    server.hold = (r) => (r.url === path && requestsTo(path).length === 1 ? held : Promise.resolve());
    const child = spawnDwe(["run", component, "--id", id, "--allow-net", "127.0.0.1", "--", "POST", authority, path, ...extra], {
      cwd: w.dir,
      db: w.db,
    });
    const deadline = Date.now() + 90_000;
    while (requestsTo(path).length === 0 && Date.now() < deadline && child.exitCode === null) await delay(5);
    expect(requestsTo(path), "the request reached the server").toHaveLength(1);
    child.kill("SIGKILL");
    expect((await exited(child)).signal).toBe("SIGKILL");
    release(); // the held request is answered to a dead client
  }

  it("makes the request and prints the response; the request carries the run's Idempotency-Key", async () => {
    const r = await cli(["run", component, "--id", "plain", "--allow-net", "127.0.0.1", "--", "POST", authority, "/plain", "hello"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^status 200\nbody: ok \d+\n$/);
    const [req] = requestsTo("/plain");
    expect(req).toMatchObject({ method: "POST", body: "hello" });
    expect(req!.key).toMatch(/^plain:\d+$/);
    expect(req!.headers["x-guest"]).toBe("http-get");
    const shown = JSON.parse((await cli(["show", "plain", "--json"])).stdout) as { journal: { byOp: Record<string, number> } };
    expect(shown.journal.byOp["http.request"]).toBe(1);
  });

  it("SIGKILL while the server holds the request, then resume: sent once more with the same key, and the run completes with the response", async () => {
    await killDuringRequest("again", "/again", ["payload"]);
    const resumed = await cli(["resume", "again"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const sent = requestsTo("/again");
    expect(sent).toHaveLength(2);
    expect(sent[0]!.key).toMatch(/^again:\d+$/);
    expect(sent[1]!.key).toBe(sent[0]!.key);
    expect(sent.map((s) => s.body)).toEqual(["payload", "payload"]);
    expect(resumed.stdout).toMatch(/^status 200\nbody: ok \d+\n$/);
    const logs = (await cli(["logs", "again"])).stdout.trim().split("\n");
    expect(logs.filter((l) => l.startsWith("status "))).toEqual(["status 200"]);
    // Resuming the completed run sends nothing more.
    await cli(["resume", "again"]);
    expect(requestsTo("/again")).toHaveLength(2);
  });

  it("asked at-most-once (header dwe-at-most-once, not sent), a request cut by a crash is not sent again: the guest gets an error", async () => {
    await killDuringRequest("once", "/once", ["payload", "at-most-once"]);
    const resumed = await cli(["resume", "once"]);
    expect(resumed.stdout).toMatch(/^error internal-error: outcome_unknown: /);
    expect(resumed.code, resumed.stderr).toBe(7);
    expect(requestsTo("/once")).toHaveLength(1);
    expect(requestsTo("/once")[0]!.headers["dwe-at-most-once"]).toBeUndefined();
  });

  it("a host not granted with --allow-net is HTTP-request-denied for the guest, and nothing is sent", async () => {
    const r = await cli(["run", component, "--id", "denied", "--", "GET", authority, "/denied"]);
    expect(r.stdout).toBe("error HTTP-request-denied\n");
    expect(r.code).toBe(7);
    expect(requestsTo("/denied")).toEqual([]);
  });
});
