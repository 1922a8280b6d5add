import type http from "node:http";
import type { Socket } from "node:net";
import { BadRequest, GuestVisibleError } from "../engine/kernel/errors.js";
import { netAllowed } from "../engine/kernel/grants.js";
import { stopReason, type HostContext, type HostFunction } from "../engine/kernel/host-function.js";
import { nodeHttp, nodeHttps } from "../engine/kernel/node-modules.js";
import { RequestFields } from "./request-fields.js";
import { FORBIDDEN_HEADERS, TOKEN } from "./http-headers.js";

export const MAX_HTTP_BODY = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  timeoutMs: number;
  atMostOnce: boolean;
}

type Pools = Record<"http" | "https", http.Agent>;

/** Made at the first request (node:http and node:https are loaded then: kernel/node-modules.ts). */
let agents: Pools | undefined;
/**
 * New connections only: for `at_most_once` requests (a request on a kept-alive connection can meet
 * a server that closed it while idle, and whether it was read then cannot be told), and for the
 * one retry of a request that failed that way.
 */
let fresh: Pools | undefined;

function pools(keepAlive: boolean): Pools {
  return { http: new (nodeHttp().Agent)({ keepAlive, maxSockets: 256 }), https: new (nodeHttps().Agent)({ keepAlive, maxSockets: 256 }) };
}

/** Errors of a kept-alive connection the server had closed (idle timeout), seen on writing to it. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/** A header value: visible characters, spaces and tabs; no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;

function checkHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new GuestVisibleError("invalid", `header name ${JSON.stringify(name)} is not a valid HTTP token`);
    if (!FIELD_VALUE.test(value)) {
      throw new GuestVisibleError("invalid", `header '${name}' has a value with CR, LF, NUL or another control character`);
    }
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) {
      throw new GuestVisibleError("invalid", `header '${name}' cannot be set: dwe frames the request and manages the connection itself`);
    }
  }
}

/**
 * `http.request`: an external effect, at-least-once by default. Each request carries the call's
 * idempotency key in the `Idempotency-Key` header, the same on every retry after a crash.
 */
export const httpRequest: HostFunction<HttpRequest> = {
  name: "http.request",
  kind: "effect",
  parse(request) {
    const f = new RequestFields("http.request", request);
    const method = (f.optStr("method") ?? "GET").toUpperCase();
    if (!/^[A-Z]{1,16}$/.test(method)) throw new BadRequest("http.request", "field 'method' must be an HTTP method such as GET");
    if (method === "CONNECT") throw new GuestVisibleError("invalid", "the CONNECT method is not supported: http.request makes one request");
    const headers = f.strMap("headers");
    checkHeaders(headers);
    return {
      method,
      url: f.str("url"),
      headers,
      body: f.bytes("body"),
      timeoutMs: f.optUint("timeout_ms", 3_600_000) ?? DEFAULT_TIMEOUT_MS,
      atMostOnce: f.bool("at_most_once"),
    };
  },
  atMostOnce: (req) => req.atMostOnce,
  redoSafe: (req) => !req.atMostOnce,
  perform(ctx, req) {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new GuestVisibleError("invalid", `'${req.url}' is not a valid URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new GuestVisibleError("invalid", `unsupported URL '${url.href}': only http and https`);
    }
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    if (!netAllowed(ctx.grants, url.hostname, port)) {
      throw new GuestVisibleError(
        "denied",
        `network access to ${url.hostname}:${port} was not granted; run with --allow-net ${url.hostname}`,
      );
    }
    return send(ctx, req, url);
  },
};

interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  key: string;
}

/**
 * Sends the request and reads the whole response within `timeoutMs` from the start: a total
 * deadline, so a server that answers slowly, drips its body or never finishes cannot hold the call
 * (a socket idle timeout would not stop a drip). Ends early when the run is stopped (ctx.signal),
 * with the stop's reason, so the call stays in flight in the journal instead of getting an answer.
 */
function send(ctx: HostContext, req: HttpRequest, url: URL): Promise<HttpResult> {
  const headers: Record<string, string> = { ...req.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "idempotency-key")) headers["Idempotency-Key"] = ctx.key;
  // The trace context of this attempt's span (added here, not journaled: a replay compares the
  // guest's request only); a guest that sets its own traceparent keeps it.
  if (ctx.traceparent !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "traceparent")) {
    headers.traceparent = ctx.traceparent;
  }
  headers["content-length"] = String(req.body.length);
  const lib = url.protocol === "https:" ? nodeHttps() : nodeHttp();
  const reused = (agents ??= pools(true));
  const once = (fresh ??= pools(false));
  const what = `${req.method} ${url.href}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | undefined, value?: HttpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      ctx.signal.removeEventListener("abort", onAbort);
      if (err === undefined) resolve(value!);
      else {
        r?.destroy();
        reject(err);
      }
    };
    const onAbort = () => settle(stopReason(ctx.signal));
    const deadline = setTimeout(
      () => settle(new GuestVisibleError("timeout", `${what} did not complete within its timeout of ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    const pool = url.protocol === "https:" ? "https" : "http";
    let answered = false;
    let r: http.ClientRequest | undefined;
    const start = (agent: http.Agent): void => {
      const q = lib.request(url, { method: req.method, headers, agent }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_HTTP_BODY) {
            res.destroy();
            settle(new GuestVisibleError("invalid", `response body from ${url.host} is over ${MAX_HTTP_BODY} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on("error", (e) => settle(new GuestVisibleError("network", `reading the response from ${url.host}: ${e.message}`)));
        res.on("end", () => {
          const hdrs: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(", ") : v;
          settle(undefined, { status: res.statusCode ?? 0, headers: hdrs, body: new Uint8Array(Buffer.concat(chunks)), key: ctx.key });
        });
        // A response cut off mid-body ends with 'close' and no 'end' (or 'error'): not an answer.
        res.on("close", () => {
          if (!res.complete) settle(new GuestVisibleError("network", `the response from ${url.host} was cut off`));
        });
      });
      // A server that switches protocols (101) hands over the raw socket, which Node gives only to an
      // 'upgrade' listener; without one the request would neither answer nor fail.
      r = q;
      q.on("upgrade", (res: http.IncomingMessage, socket: Socket) => {
        socket.destroy();
        settle(
          new GuestVisibleError(
            "network",
            `${what}: the server switched protocols (${res.statusCode ?? 101}), which http.request does not support`,
          ),
        );
      });
      q.on("error", (e: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while it was idle (its FIN not yet seen, as
        // after a stall of this thread): the request was not answered and is sent once more on a
        // new connection, within the same deadline, with the same idempotency key.
        if (q.reusedSocket && !answered && !settled && agent !== once[pool] && STALE_CONNECTION.has(e.code ?? "")) {
          q.removeAllListeners("close");
          start(once[pool]);
          return;
        }
        settle(e instanceof GuestVisibleError ? e : new GuestVisibleError("network", `${what} failed: ${e.message}`));
      });
      q.on("close", () => {
        // Closed before any response (and without an 'error'): say so rather than wait for the deadline.
        if (!answered) settle(new GuestVisibleError("network", `${what} failed: the connection closed before a response`));
      });
      q.end(req.body);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    if (!settled) start(req.atMostOnce ? once[pool] : reused[pool]);
  });
}
