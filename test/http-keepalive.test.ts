// The HTTP host function and kept-alive connections a server closed while they were idle: a request
// that meets one (its thread was stalled, so the server's FIN was not seen before the connection
// was reused) is sent again on a new connection instead of failing with "socket hang up".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import { join } from "node:path";
import { dweAsync, workdir } from "./support/cli.js";
import { compileAs } from "./support/assemblyscript.js";

/** Answers every request, and closes a connection 100 ms after its last response (an idle timeout). */
class IdleClosingServer {
  private readonly server: http.Server;
  readonly answered: { socket: number; key: string | undefined }[] = [];
  connections = 0;

  constructor() {
    const ids = new WeakMap<Socket, number>();
    const timers = new WeakMap<Socket, NodeJS.Timeout>();
    this.server = http.createServer((req, res) => {
      const socket = req.socket;
      clearTimeout(timers.get(socket));
      req.resume();
      req.on("end", () => {
        this.answered.push({ socket: ids.get(socket)!, key: req.headers["idempotency-key"] as string | undefined });
        res.on("finish", () =>
          timers.set(
            socket,
            setTimeout(() => socket.destroy(), 100),
          ),
        );
        res.end("ok");
      });
    });
    this.server.keepAliveTimeout = 0; // no Keep-Alive hint: the client cannot know the idle timeout
    this.server.on("connection", (s: Socket) => ids.set(s, ++this.connections));
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe("http.request on kept-alive connections", () => {
  const w = workdir("dwe-keepalive-");
  let wasm: string;
  beforeAll(async () => {
    wasm = await compileAs("test/fixtures/core/http-stall.ts", join(w.dir, "build"));
  });
  afterAll(() => w.cleanup());

  it("a request on a connection the server closed while the run was stalled in its own code is sent again on a new connection, not failed", async () => {
    const server = new IdleClosingServer();
    const url = await server.start();
    try {
      const r = await dweAsync(["run", wasm, "--id", "stall", "--allow-net", "127.0.0.1", "--input", `${url} 600`], {
        cwd: w.dir,
        db: w.db,
      });
      expect(r.stderr).not.toContain("socket hang up");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("200 200");
      // Both requests were answered, each once, on two connections (the closed one was not reused).
      expect(server.answered).toHaveLength(2);
      expect(server.answered[0]!.socket).not.toBe(server.answered[1]!.socket);
      expect(new Set(server.answered.map((a) => a.key)).size).toBe(2);
    } finally {
      await server.stop();
    }
  });
});
