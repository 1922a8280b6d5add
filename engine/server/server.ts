// `dwe server` and `serve(dwe, …)`: the JSON HTTP API over one Dwe (docs/http-api.md).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Dwe } from "../api/dwe.js";
import { UsageError } from "../kernel/errors.js";
import { apiRoutes } from "./api-routes.js";
import { DEFAULT_MAX_BODY, tooLarge } from "./body.js";
import { loadConsole, sendConsoleFile } from "./console-files.js";
import { guard, guardHost } from "./guard.js";
import { errorResponse } from "./http-error.js";
import { DEFAULT_LISTEN, parseListen } from "./listen.js";
import { Router } from "./router.js";
import { metricsHandler } from "./metrics-route.js";

export interface ServerOptions {
  /** `HOST:PORT` (default 127.0.0.1:7070; port 0 picks a free one). Beyond loopback a `token` is required. */
  listen?: string;
  /** Bearer token every request must carry (`--token`, `DWE_TOKEN`); at least 16 characters. */
  token?: string;
  /** Largest request body in bytes (default 64 MiB); larger ones are refused with 413. */
  maxBodyBytes?: number;
  /** How often followed log streams look for new lines (ms, default 200). */
  pollMs?: number;
  /** Serve `GET /metrics`, Prometheus metrics of this process (the Dwe must be opened with `metrics: true`). */
  metrics?: boolean;
  /** Serve the JSON API under /api/ (default true); false serves only /metrics (`dwe worker --metrics`). */
  api?: boolean;
  /** Told about requests that failed inside the server (500s), with what went wrong. */
  log?: (line: string) => void;
}

/** A running server: where it listens, and how to stop it. */
export interface DweServer {
  /** `http://HOST:PORT` as bound (the real port when 0 was asked for). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting requests, ends open log streams, and resolves once the server is closed (the Dwe stays open). */
  close(): Promise<void>;
}

const MIN_TOKEN = 16;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  res.end(text);
}

/**
 * Serves the HTTP API of `dwe` until `close()`. Refused (UsageError) before listening: a bad
 * address, a short token, or a non-loopback address without a token.
 */
export async function serve(dwe: Dwe, o: ServerOptions = {}): Promise<DweServer> {
  const address = parseListen(o.listen ?? DEFAULT_LISTEN);
  const token = o.token ?? null;
  if (token !== null && (token.length < MIN_TOKEN || /\s/.test(token))) {
    throw new UsageError(`bad --token: use at least ${MIN_TOKEN} characters and no spaces (e.g. \`openssl rand -hex 32\`)`);
  }
  if (!address.loopback && token === null) {
    throw new UsageError(
      `--listen ${address.host}:${address.port} is reachable from other machines: give a token (--token or DWE_TOKEN) so only its bearers can use the API, or listen on 127.0.0.1`,
    );
  }
  const maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0)
    throw new UsageError(`bad --max-body '${maxBodyBytes}': expected a positive size`);
  const log = o.log ?? ((line: string) => process.stderr.write(`dwe server: ${line}\n`));
  const routes: Router = o.api === false ? new Router() : apiRoutes(dwe, { maxBodyBytes, pollMs: o.pollMs ?? 200 });
  if (o.metrics) routes.on("GET", "/metrics", metricsHandler(dwe));
  const closing = new AbortController();
  const consoleFiles = loadConsole();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const gone = new AbortController();
    res.on("close", () => gone.abort());
    const signal = AbortSignal.any([gone.signal, closing.signal]);
    try {
      const url = new URL(req.url ?? "/", "http://dwe.invalid");
      // The console's files hold no data and a browser cannot send a token to load a page: they pass
      // the Host check only. Everything they show comes from /api/, with the token (docs/console.md).
      // /metrics (with `metrics`) is guarded as the API is; without the API (a worker's metrics
      // endpoint) there is no console either.
      const api = url.pathname === "/api" || url.pathname.startsWith("/api/") || (o.metrics === true && url.pathname === "/metrics");
      if (!api && o.api !== false) {
        guardHost(req, { loopback: address.loopback });
        sendConsoleFile(consoleFiles, req.method ?? "GET", url.pathname, res);
        return;
      }
      guard(req, { token, loopback: address.loopback });
      // Every endpoint, also those that read no body: a declared size over the limit is refused unread.
      if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) throw tooLarge(maxBodyBytes);
      const { handler, params } = routes.match(req.method ?? "GET", url.pathname);
      const reply = await handler({ req, res, params, query: url.searchParams, signal });
      if (reply) send(res, reply.status, reply.body, reply.headers);
    } catch (err) {
      const e = errorResponse(err);
      if (e.code === "internal") log(`${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (res.headersSent) res.end();
      else {
        // A body refused before it was read in full: close the connection rather than read the rest.
        send(
          res,
          e.status,
          { error: { code: e.code, message: e.message } },
          { ...e.headers, ...(e.status === 413 && { Connection: "close" }) },
        );
      }
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot listen on ${address.host}:${address.port}: ${err.code ?? err.message}; pick another --listen`);
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}`,
    host: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
