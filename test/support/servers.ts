import http from "node:http";
import net, { type AddressInfo } from "node:net";

export interface Received {
  method: string;
  url: string;
  body: string;
  key: string | undefined;
  headers: http.IncomingHttpHeaders;
  /** The client's port (see sender-pid.ts to tell which process sent it, while it is connected). */
  port: number;
}

/** A real HTTP server on 127.0.0.1 that records every request; `hold` lets a test stall answers. */
export class CountingServer {
  readonly received: Received[] = [];
  private server: http.Server | null = null;
  /** Called for each request once its body is in; resolve to answer. Default: answer at once. */
  hold: (r: Received) => Promise<void> = () => Promise.resolve();
  /** Called for each new connection with the client's port (before any request on it arrives). */
  onConnection: (port: number) => void = () => undefined;
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
          headers: req.headers,
          port: req.socket.remotePort ?? 0,
        };
        this.received.push(r);
        void this.hold(r).then(() => {
          res.writeHead(this.status, { "content-type": "text/plain" });
          res.end(`ok ${this.received.length}`);
        });
      });
    });
    this.server.on("connection", (socket) => this.onConnection(socket.remotePort ?? 0));
    // Longer than any stall a test makes: a kept-alive socket the server closed while its client was
    // frozen is reused by the client's agent and fails the next request ("socket hang up").
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * A TCP server on 127.0.0.1 that answers HTTP by hand, for servers that misbehave in ways
 * node:http will not (switching protocols, dripping a body forever). `answer` gets each
 * connection and the raw bytes of its first request head; `heads` keeps every request head.
 */
export class RawHttpServer {
  readonly heads: string[] = [];
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly answer: (socket: net.Socket, head: string) => void) {}

  async start(): Promise<string> {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      let head = "";
      const onData = (c: Buffer) => {
        head += c.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        this.heads.push(head.slice(0, end));
        this.answer(socket, head.slice(0, end));
      };
      socket.on("data", onData);
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
