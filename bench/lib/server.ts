import http from "node:http";
import type { AddressInfo } from "node:net";
import { nowMs } from "./stats.js";

/**
 * An HTTP server on 127.0.0.1 for benchmarks: answers every request with `body` after `delayMs`,
 * or holds it (never answers) while `hold` is true; records when requests arrive.
 */
export class BenchServer {
  private server: http.Server | null = null;
  requests = 0;
  /** High-resolution arrival time (nowMs) of the first request since `reset`. */
  firstArrival: number | null = null;
  private waiters: ((t: number) => void)[] = [];
  hold = false;
  delayMs = 0;
  body: Buffer = Buffer.from("ok");
  url = "";

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const t = nowMs();
      req.resume();
      req.on("end", () => {
        this.requests++;
        if (this.firstArrival === null) this.firstArrival = t;
        for (const w of this.waiters.splice(0)) w(t);
        if (this.hold) return;
        const answer = () => {
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": this.body.length });
          res.end(this.body);
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", 1024, r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  reset(): void {
    this.requests = 0;
    this.firstArrival = null;
  }

  /** Resolves with the arrival time of the next request. */
  nextRequest(): Promise<number> {
    return new Promise((r) => this.waiters.push(r));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
