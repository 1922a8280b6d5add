import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  url: string;
  body: string;
  key: string | undefined;
}

/** A real HTTP server on 127.0.0.1 that records every request; `hold` lets a test stall answers. */
export class CountingServer {
  readonly received: Received[] = [];
  private server: http.Server | null = null;
  /** Called for each request once its body is in; resolve to answer. Default: answer at once. */
  hold: (r: Received) => Promise<void> = () => Promise.resolve();
  status = 200;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const r: Received = {
          method: req.method ?? "",
          url: req.url ?? "",
          body,
          key: req.headers["idempotency-key"] as string | undefined,
        };
        this.received.push(r);
        void this.hold(r).then(() => {
          res.writeHead(this.status, { "content-type": "text/plain" });
          res.end(`ok ${this.received.length}`);
        });
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
