// A small table of routes: `METHOD /api/runs/:id/…` patterns, path parameters decoded and checked.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, badRequest } from "./http-error.js";

/** What a handler gets: the request, its path parameters and query. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal;
}

/** A JSON answer; a handler that streams (SSE) writes the response itself and returns undefined. */
export interface JsonReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (c: RequestContext) => Promise<JsonReply | undefined>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `path` segments starting with `:` are parameters (one segment each, percent-decoded). */
  on(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((seg) => {
        if (!seg.startsWith(":")) return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(seg.slice(1));
        return "([^/]+)";
      })
      .join("/");
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler and parameters of a request: 404 for an unknown path, 405 (with Allow) for a known path and another method. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== method) {
        allowed.push(r.method);
        continue;
      }
      const params: Record<string, string> = {};
      r.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1] ?? "");
        } catch {
          throw badRequest(`bad ${name} in the path: not valid percent-encoding`);
        }
      });
      return { handler: r.handler, params };
    }
    if (allowed.length > 0) {
      throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${path}; use ${allowed.join(" or ")}`, {
        Allow: allowed.join(", "),
      });
    }
    throw new HttpError(404, "not_found", `no such endpoint: ${path} (see docs/http-api.md)`);
  }
}
