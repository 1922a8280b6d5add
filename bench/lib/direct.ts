// B3 baselines: the same external calls made directly from Node, as the host functions make them.
import { spawn } from "node:child_process";
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** GETs `url` and reads the whole body (keep-alive, like host-functions/http.ts). */
export function directHttp(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "GET", agent, headers: { "content-length": "0" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Runs `true` with piped stdio and waits for it to close (like host-functions/shell.ts). */
export function directExec(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("true", [], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", () => undefined);
    child.stderr.on("data", () => undefined);
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? -1));
    child.stdin.end();
  });
}
