// http.request always ends: by its own timeout (a total deadline over request and response, not an
// idle timeout), by the run's, or at once when the server does something a request cannot answer
// (switching protocols). Headers that would frame the request differently from dwe, or inject
// lines, are refused as `invalid`, and so is a sleep that is not a valid date.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFor, workdir, type CliResult } from "./support/cli.js";
import { opGuest } from "./support/op-guest.js";
import { RawHttpServer } from "./support/servers.js";
import { runIn, startWorker, waitFor } from "./support/worker.js";

describe("http.request cannot get stuck", () => {
  const w = workdir();
  // 101 Switching Protocols to anything.
  const upgrading = new RawHttpServer((s) => s.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: evil\r\n\r\n"));
  // 200 with a body of a million bytes, one byte every 50 ms.
  const dripping = new RawHttpServer((s) => {
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
    const t = setInterval(() => s.write("x"), 50);
    s.on("close", () => clearInterval(t));
  });
  // Answers a CONNECT as a proxy would; a plain 200 otherwise.
  const proxy = new RawHttpServer((s, head) =>
    s.write(head.startsWith("CONNECT") ? "HTTP/1.1 200 Connection established\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
  );
  const urls = { upgrading: "", dripping: "", proxy: "" };

  beforeAll(async () => {
    urls.upgrading = await upgrading.start();
    urls.dripping = await dripping.start();
    urls.proxy = await proxy.start();
  });
  afterAll(async () => {
    await Promise.all([upgrading.stop(), dripping.stop(), proxy.stop()]);
    w.cleanup();
  });

  const failsWith = (r: CliResult, id: string, code: string, message: string | RegExp) => {
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`dwe: run ${id} failed: ${code}: `));
    expect(r.stderr).toMatch(message);
    expect(runIn(w.db, id).status).toBe("failed");
  };

  it("a server answering 101 Switching Protocols fails the call with `network` at once; the run does not stay running", async () => {
    const m = opGuest(w.dir, "upgrade", "http.request", { url: urls.upgrading });
    const r = await runFor(w, ["run", m, "--id", "upgrade", "--allow-net", "127.0.0.1", "--quiet"]);
    failsWith(r, "upgrade", "network", /switched protocols \(101\)/);
  });

  it("in a worker, a run calling a server that switches protocols ends instead of hanging its thread", async () => {
    const m = opGuest(w.dir, "upgrade-w", "http.request", { url: urls.upgrading });
    const started = await runFor(w, ["run", m, "--id", "upgrade-w", "--allow-net", "127.0.0.1", "--detach"]);
    expect(started.code, started.stderr).toBe(0);
    const worker = startWorker(w, ["--threads", "1"]);
    try {
      const row = await waitFor("the run to end", () => {
        const r = runIn(w.db, "upgrade-w");
        return r.status !== "pending" && r.status !== "running" && r;
      });
      expect(row.status, worker.log()).toBe("failed");
      expect(JSON.parse(row.error!)).toMatchObject({ code: "network" });
    } finally {
      await worker.stop();
    }
  });

  it("timeout_ms is a total deadline: a server dripping its body one byte at a time gets `timeout` after it", async () => {
    const m = opGuest(w.dir, "drip", "http.request", { url: urls.dripping, timeout_ms: 1500 });
    const r = await runFor(w, ["run", m, "--id", "drip", "--allow-net", "127.0.0.1", "--quiet"]);
    failsWith(r, "drip", "timeout", "did not complete within its timeout of 1500 ms");
  });

  it("the run's --timeout ends a call whose own timeout is longer", async () => {
    const m = opGuest(w.dir, "drip-run", "http.request", { url: urls.dripping, timeout_ms: 3_600_000 });
    const r = await runFor(w, ["run", m, "--id", "drip-run", "--allow-net", "127.0.0.1", "--timeout", "1500", "--quiet"]);
    failsWith(r, "drip-run", "timeout", /ran past its timeout of 1500 ms/);
  });

  it("CONNECT is refused as `invalid`; nothing is sent", async () => {
    const m = opGuest(w.dir, "connect", "http.request", { method: "CONNECT", url: urls.proxy });
    const r = await runFor(w, ["run", m, "--id", "connect", "--allow-net", "127.0.0.1", "--quiet"]);
    failsWith(r, "connect", "invalid", "the CONNECT method is not supported");
    expect(proxy.heads).toHaveLength(0);
  });

  it("CR/LF in a header value or name is `invalid`, not an internal error", async () => {
    for (const [id, headers] of [
      ["inject-value", { "X-A": "a\r\nX-Injected: 1" }],
      ["inject-name", { "X-A\r\nX-Injected": "1" }],
    ] as const) {
      const m = opGuest(w.dir, id, "http.request", { url: urls.proxy, headers });
      const r = await runFor(w, ["run", m, "--id", id, "--allow-net", "127.0.0.1", "--quiet"]);
      failsWith(r, id, "invalid", /header/);
    }
    expect(proxy.heads).toHaveLength(0);
  });

  it("framing and connection headers from the guest (Transfer-Encoding, Host, Upgrade, …) are refused", async () => {
    const headers = [{ "Transfer-Encoding": "chunked" }, { Host: "admin.internal" }, { Upgrade: "websocket" }];
    for (const [i, h] of headers.entries()) {
      const m = opGuest(w.dir, `framing-${i}`, "http.request", { method: "POST", url: urls.proxy, headers: h, body: "hello" });
      const r = await runFor(w, ["run", m, "--id", `framing-${i}`, "--allow-net", "127.0.0.1", "--quiet"]);
      failsWith(r, `framing-${i}`, "invalid", `header '${Object.keys(h)[0]}' cannot be set`);
    }
    expect(proxy.heads).toHaveLength(0);
    // An ordinary header still goes through, with dwe's own Content-Length.
    const m = opGuest(w.dir, "plain", "http.request", { method: "POST", url: urls.proxy, headers: { "X-Ok": "1" }, body: "hello" });
    const r = await runFor(w, ["run", m, "--id", "plain", "--allow-net", "127.0.0.1", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.heads).toHaveLength(1);
    expect(proxy.heads[0]).toMatch(/^x-ok: 1$/im);
    expect(proxy.heads[0]).toMatch(/^content-length: 5$/im);
    expect(proxy.heads[0]).not.toMatch(/transfer-encoding/i);
  });

  it("a sleep of 2^53 ms is `invalid` with a clear message (not `internal: Invalid time value`)", async () => {
    const m = opGuest(w.dir, "sleep-huge", "sleep", { ms: 2 ** 53 - 1 });
    const r = await runFor(w, ["run", m, "--id", "sleep-huge", "--quiet"]);
    failsWith(r, "sleep-huge", "invalid", "is longer than the 3155760000000 ms (100 years) allowed");
    const u = opGuest(w.dir, "sleep-until", "sleep", { until: 2 ** 53 - 1 });
    const r2 = await runFor(w, ["run", u, "--id", "sleep-until", "--quiet"]);
    failsWith(r2, "sleep-until", "invalid", "is after 9999-12-31");
  });
});
