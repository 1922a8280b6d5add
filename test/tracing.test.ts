// OpenTelemetry traces (docs/observability.md): a real `dwe run` with OTEL_EXPORTER_OTLP_ENDPOINT
// set exports its spans with OTLP/HTTP to a receiver on 127.0.0.1; the HTTP effect's server sees
// the traceparent of the exported span; a resumed attempt exports no spans for replayed calls.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { dweAsync, exited, spawnDwe, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";
import { inFlightPostGuest, telemetryGuest } from "./support/telemetry-guest.js";
import { waitFor } from "./support/worker.js";

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** An OTLP/HTTP receiver (JSON) on 127.0.0.1 that keeps every span it is sent. */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  readonly services: string[] = [];
  private readonly server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      if (req.url === "/v1/traces" && req.headers["content-type"]?.startsWith("application/json")) {
        const e = JSON.parse(body) as OtlpExport;
        for (const rs of e.resourceSpans) {
          const name = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue;
          if (name !== undefined) this.services.push(name);
          for (const ss of rs.scopeSpans) this.spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const attr = (s: OtlpSpan, key: string): string | number | boolean | undefined => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue);
};

describe("OpenTelemetry traces", () => {
  let w: ReturnType<typeof workdir>;
  let target: CountingServer;
  let url: string;
  let otlp: OtlpReceiver;
  let env: Record<string, string>;

  beforeEach(async () => {
    w = workdir("dwe-tracing-");
    target = new CountingServer();
    url = await target.start();
    otlp = new OtlpReceiver();
    env = { OTEL_EXPORTER_OTLP_ENDPOINT: await otlp.start(), OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
  });
  afterEach(async () => {
    await target.stop();
    await otlp.stop();
    w.cleanup();
  });

  it("dwe run exports a span per attempt with a child span per effect and wait, and the HTTP effect carries the span's traceparent", async () => {
    const wasm = telemetryGuest(w.dir, url, 50);
    const r = await dweAsync(["run", wasm, "--id", "traced", "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db, env });
    expect(r.code, r.stderr).toBe(0);
    const attempt = otlp.spans.filter((s) => s.name === "dwe.attempt");
    expect(attempt).toHaveLength(1);
    expect(attr(attempt[0]!, "dwe.run_id")).toBe("traced");
    expect(attr(attempt[0]!, "dwe.outcome")).toBe("completed");
    expect(otlp.services).toContain("dwe");
    const steps = otlp.spans.filter((s) => s.parentSpanId === attempt[0]!.spanId);
    // Effects and waits get spans, reads (clock.now) do not.
    expect(steps.map((s) => [s.name, attr(s, "dwe.seq")])).toEqual([
      ["sleep", 2],
      ["http.request", 3],
    ]);
    for (const s of steps) {
      expect(s.traceId).toBe(attempt[0]!.traceId);
      expect(attr(s, "dwe.run_id")).toBe("traced");
    }
    const http = steps.find((s) => s.name === "http.request")!;
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.headers.traceparent).toBe(`00-${http.traceId}-${http.spanId}-01`);
  });

  it("a resumed attempt exports no spans for the calls it replayed; the effect in flight at the crash is redone in a span marked so", async () => {
    const wasm = inFlightPostGuest(w.dir, url);
    // Killed once the POST's intent (entry 3) is committed: the request is in flight.
    const crashed = await dweAsync(["run", wasm, "--id", "again", "--allow-net", "127.0.0.1"], {
      cwd: w.dir,
      db: w.db,
      env: { ...env, DWE_TEST_CRASH_AFTER_ENTRY: "3" },
    });
    expect(crashed.code).toBe(null);
    otlp.spans.length = 0;
    const r = await dweAsync(["resume", "again"], { cwd: w.dir, db: w.db, env });
    expect(r.code, r.stderr).toBe(0);
    const attempt = otlp.spans.find((s) => s.name === "dwe.attempt" && attr(s, "dwe.run_id") === "again")!;
    expect(attempt).toBeDefined();
    expect(attr(attempt, "dwe.replayed_entries")).toBe(2);
    const steps = otlp.spans.filter((s) => s.parentSpanId === attempt.spanId);
    expect(steps.map((s) => [s.name, attr(s, "dwe.seq"), attr(s, "dwe.redo")])).toEqual([["http.request", 3, true]]);
    // The redone request carries the new attempt's trace context; the journaled request is the
    // guest's, so the replay matched although the header differs from the first attempt's.
    const last = target.received[target.received.length - 1]!;
    expect(last.headers.traceparent).toBe(`00-${steps[0]!.traceId}-${steps[0]!.spanId}-01`);
    // The GET once (replayed on resume); the POST once: the first attempt died with its intent
    // committed, before it was sent, and the redo sent it with the key its intent recorded.
    expect(target.received.map((q) => q.key)).toEqual(["again:2", "again:3"]);
  });

  it("a worker's executor threads export the spans of the runs they execute", async () => {
    const wasm = telemetryGuest(w.dir, url, 0);
    const worker = spawnDwe(["worker"], { cwd: w.dir, db: w.db, env: { ...env, DWE_POLL_MS: "100" } });
    try {
      const r = await dweAsync(["start", wasm, "--id", "threaded", "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db });
      expect(r.code, r.stderr).toBe(0);
      const attempt = await waitFor(
        "the attempt's span",
        () => otlp.spans.find((s) => s.name === "dwe.attempt" && attr(s, "dwe.run_id") === "threaded"),
        30_000,
      );
      expect(attr(attempt, "dwe.outcome")).toBe("completed");
      const http = await waitFor("the request's span", () =>
        otlp.spans.find((s) => s.name === "http.request" && s.parentSpanId === attempt.spanId),
      );
      expect(target.received[0]!.headers.traceparent).toBe(`00-${http.traceId}-${http.spanId}-01`);
    } finally {
      worker.kill("SIGKILL");
      await exited(worker);
    }
  });

  it("without OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported and no traceparent is sent", async () => {
    const wasm = telemetryGuest(w.dir, url, 0);
    const r = await dweAsync(["run", wasm, "--allow-net", "127.0.0.1"], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    expect(otlp.spans).toHaveLength(0);
    expect(target.received[0]!.headers.traceparent).toBeUndefined();
  });
});
