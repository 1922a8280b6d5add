// `dwe server` as a real child process for the HTTP API and console tests, and requests with headers
// fetch will not send as given (Host, Origin).
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import { spawnDwe } from "./cli.js";

export interface Served {
  child: ChildProcess;
  url: string;
  log: () => string;
}

/** Starts `dwe server ARGS` on a free port of 127.0.0.1 and resolves with the URL it prints once it listens. */
export function startServer(w: { dir: string; db: string }, args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawnDwe(["server", "--listen", "127.0.0.1:0", ...args], { cwd: w.dir, db: w.db, env });
  let out = "";
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve({ child, url: line, log: () => err });
    });
    child.on("exit", (code) => reject(new Error(`dwe server exited (${code}) before listening: ${err}`)));
  });
}

/** A request over node:http, headers exactly as given and the path as written (no `..` resolved). */
export function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
