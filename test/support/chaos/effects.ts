// Who performed each effect of the effects example, seen from outside dwe: the HTTP server on
// 127.0.0.1 tells the sending process by its connection (/proc), and the `sh` the workers find
// first on their PATH (kill-resume.ts, recordingShell) appends its idempotency key and its parent
// (the worker) to a file before it does the work.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { recordedCommands } from "../kill-resume.js";
import { senderPid } from "../sender-pid.js";

export interface Performance {
  run: string;
  kind: "exec" | "http";
  step: number;
  /** The idempotency key it carried (`Idempotency-Key`, `DWE_IDEMPOTENCY_KEY`). */
  key: string | null;
  /** The worker process that performed it; null when it could not be told (it died at once). */
  pid: number | null;
  /** When it started (ms since the epoch, this machine's clock). */
  at: number;
}

/** The effect's identity: one HTTP request or one command of one step of one run. */
export const effectId = (p: Pick<Performance, "run" | "kind" | "step">) => `${p.run} ${p.kind} ${p.step}`;

/**
 * The effects example's HTTP endpoint: `POST /<run>` with body `<step>`. Records each request with
 * its sender; answers after a random delay (so faults find requests in flight); `onArrival`, when
 * set, is called once with the sender of the next request before it is answered.
 */
export class EffectsServer {
  readonly performed: Performance[] = [];
  onArrival: ((pid: number | null) => void) | null = null;
  private server: http.Server | null = null;
  private port = 0;
  private readonly senders = new WeakMap<Socket, number | null>();

  constructor(
    /** The worker processes that may be sending. */
    private readonly candidates: () => readonly number[],
    private readonly answerDelayMs: () => number,
  ) {}

  private senderOf(socket: Socket): number | null {
    const known = this.senders.get(socket);
    if (known !== undefined && known !== null) return known;
    const pid = senderPid(socket.remotePort ?? 0, this.candidates(), this.port);
    this.senders.set(socket, pid);
    return pid;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const at = Date.now();
      const pid = this.senderOf(req.socket);
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const key = req.headers["idempotency-key"];
        this.performed.push({
          run: decodeURIComponent((req.url ?? "/").slice(1)),
          kind: "http",
          step: Number(body),
          key: typeof key === "string" ? key : null,
          pid,
          at,
        });
        const hook = this.onArrival;
        this.onArrival = null;
        hook?.(pid);
        setTimeout(() => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.end("ok");
        }, this.answerDelayMs());
      });
    });
    // Told at once, before the sender can be killed (a dead process holds no socket to find).
    this.server.on("connection", (socket: Socket) => void this.senderOf(socket));
    // Longer than any stop: a kept-alive socket the server closed while its client was frozen would
    // be reused by the client and fail its next request.
    this.server.keepAliveTimeout = 120_000;
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", 1024, r));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * The effects example's commands among those the workers' `sh` recorded (`recordingShell`, recording
 * before each command runs); a parent that was no worker (the worker had died) is null.
 */
export function commandsPerformed(log: string, workers: ReadonlySet<number>): Performance[] {
  const out: Performance[] = [];
  for (const c of recordedCommands(log)) {
    const m = /^echo (\d+) >> 'out-(.+)\.txt'$/.exec(c.script);
    if (!m) continue;
    out.push({ run: m[2]!, kind: "exec", step: Number(m[1]), key: c.key, pid: workers.has(c.ppid) ? c.ppid : null, at: c.at });
  }
  return out;
}
