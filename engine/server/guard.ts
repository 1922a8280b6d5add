import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.js";
import { isLoopbackHost } from "./listen.js";

/** What every request is checked against before it reaches a handler. */
export interface GuardOptions {
  /** Bearer token every request must carry (required when listening beyond loopback). */
  token: string | null;
  /** Listening on loopback only: the Host header must then name this machine (no DNS rebinding). */
  loopback: boolean;
}

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Compared as digests, in constant time: neither the token nor its length leaks through timing. */
function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

/** The host name of a Host header (`127.0.0.1:7070`, `[::1]:7070`, `localhost`), or null when malformed. */
function hostName(header: string): string | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header);
  return m?.[1] ?? m?.[2] ?? null;
}

/** Methods that change something: checked for cross-site use (a browser sends them from any page). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);

/**
 * Refuses a request for another host while listening on loopback (a DNS-rebinding page: evil.example
 * resolved to 127.0.0.1 sends its own Host). Checked on every request, the console's files included.
 */
export function guardHost(req: IncomingMessage, o: Pick<GuardOptions, "loopback">): void {
  if (!o.loopback) return;
  const host = req.headers.host ?? "";
  const name = hostName(host);
  if (name === null || !isLoopbackHost(name)) {
    throw new HttpError(
      403,
      "forbidden_host",
      `this server listens on loopback and answers only requests for localhost or a loopback address (Host was '${host}')`,
    );
  }
}

/**
 * Refuses an API request that may not be served (HttpError), in this order: a Host header that is not
 * this machine while listening on loopback (guardHost); a missing or wrong bearer token; for
 * any method but GET and HEAD, a request a browser sent on another site's behalf (`Sec-Fetch-Site`
 * other than same-origin or none, or an `Origin` that is not this server's). The server sends no
 * CORS headers at all, so a browser never lets another site read an answer or send a preflighted
 * request.
 */
export function guard(req: IncomingMessage, o: GuardOptions): void {
  guardHost(req, o);
  const host = req.headers.host ?? "";
  if (o.token !== null) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    const given = m?.[1];
    if (given === undefined || !tokenMatches(given, o.token)) {
      throw new HttpError(
        401,
        "unauthorized",
        "missing or wrong bearer token: send Authorization: Bearer TOKEN (the server's --token or DWE_TOKEN)",
        {
          "WWW-Authenticate": 'Bearer realm="dwe"',
        },
      );
    }
  }
  if (SAFE_METHODS.has(req.method ?? "")) return;
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new HttpError(
      403,
      "cross_site",
      `cross-site requests are refused (Sec-Fetch-Site: ${site}); call the API from a program, not another site's page`,
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    throw new HttpError(
      403,
      "cross_site",
      `cross-site requests are refused (Origin: ${origin}); call the API from a program, not another site's page`,
    );
  }
  // What an HTML form can send (urlencoded, multipart, text/plain) is refused on every endpoint, with a body or not.
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== undefined && type !== "" && type !== "application/json") {
    throw new HttpError(415, "unsupported_media_type", `the body must be JSON sent as Content-Type: application/json (got '${type}')`);
  }
}
