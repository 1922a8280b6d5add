import http from "node:http";
import https from "node:https";
import { GuestVisibleError } from "../engine/errors.js";
import { netAllowed } from "../engine/executor/grants.js";
import type { HostFunction } from "./types.js";
import { BadRequest, RequestFields } from "./request-fields.js";

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

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

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
    return {
      method,
      url: f.str("url"),
      headers: f.strMap("headers"),
      body: f.bytes("body"),
      timeoutMs: f.optUint("timeout_ms", 3_600_000) ?? DEFAULT_TIMEOUT_MS,
      atMostOnce: f.bool("at_most_once"),
    };
  },
  atMostOnce: (req) => req.atMostOnce,
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
    const headers: Record<string, string> = { ...req.headers };
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "idempotency-key")) headers["Idempotency-Key"] = ctx.key;
    headers["content-length"] = String(req.body.length);
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const r = lib.request(
        url,
        {
          method: req.method,
          headers,
          agent: url.protocol === "https:" ? agents.https : agents.http,
          timeout: req.timeoutMs,
          signal: ctx.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_HTTP_BODY) {
              res.destroy();
              reject(new GuestVisibleError("invalid", `response body from ${url.host} is over ${MAX_HTTP_BODY} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on("error", (e) => reject(new GuestVisibleError("network", `reading the response from ${url.host}: ${e.message}`)));
          res.on("end", () => {
            const hdrs: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(", ") : v;
            resolve({ status: res.statusCode ?? 0, headers: hdrs, body: new Uint8Array(Buffer.concat(chunks)), key: ctx.key });
          });
        },
      );
      r.on("timeout", () => r.destroy(new GuestVisibleError("timeout", `no answer from ${url.host} within ${req.timeoutMs} ms`)));
      r.on("error", (e) =>
        reject(e instanceof GuestVisibleError ? e : new GuestVisibleError("network", `${req.method} ${url.href} failed: ${e.message}`)),
      );
      r.end(req.body);
    });
  },
};
