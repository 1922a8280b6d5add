// Outgoing HTTP (op `http.request`, an external effect: at-least-once by default, with the
// run's idempotency key in the `Idempotency-Key` header).

import { tryCallMsg, Result } from "./abi";
import { Msg, MsgKind, MsgMap, MsgValue } from "./msgpack";
import { Json, JsonValue } from "./json";

/** An HTTP request. Build it with the constructor and the chainable setters. */
export class HttpRequest {
  /** Request headers (name -> value). */
  headers: Map<string, string> = new Map<string, string>();
  /** Request body, or null for none. */
  body: Uint8Array | null = null;
  /** Timeout in milliseconds; 0 means the host's default. */
  timeoutMs: i64 = 0;
  /**
   * If true and the process dies while the request is in flight, the request is not sent again on
   * resume; the call returns the error `outcome_unknown` instead.
   */
  atMostOnce: bool = false;

  constructor(
    /** Absolute URL; its host must be granted with `--allow-net`. */
    public url: string,
    /** Method, default `GET`. */
    public method: string = "GET",
  ) {}

  /** Sets a header. */
  header(name: string, value: string): HttpRequest { this.headers.set(name, value); return this; }
  /** Sets the body bytes. */
  bytes(body: Uint8Array): HttpRequest { this.body = body; return this; }
  /** Sets the body to the UTF-8 bytes of `s`. */
  text(s: string): HttpRequest { this.body = Uint8Array.wrap(String.UTF8.encode(s)); return this; }
  /** Sets the body to the JSON text of `v` and `Content-Type: application/json`. */
  json(v: JsonValue): HttpRequest { this.header("content-type", "application/json"); return this.text(v.toString()); }
  /** Sets the timeout. */
  timeout(ms: i64): HttpRequest { this.timeoutMs = ms; return this; }
  /** Marks the request at-most-once (see `atMostOnce`). */
  once(): HttpRequest { this.atMostOnce = true; return this; }

  /** The MessagePack request of op `http.request`. */
  toMsg(): MsgMap {
    const m = Msg.map().set("method", Msg.str(this.method)).set("url", Msg.str(this.url));
    if (this.headers.size > 0) m.set("headers", Msg.stringMap(this.headers));
    const body = this.body;
    if (body !== null) m.set("body", Msg.bin(body));
    if (this.timeoutMs > 0) m.set("timeout_ms", Msg.int(this.timeoutMs));
    if (this.atMostOnce) m.set("at_most_once", Msg.bool(true));
    return m;
  }
}

/** An HTTP response. Error statuses (4xx, 5xx) are normal responses. */
export class HttpResponse {
  constructor(
    /** The status code. */
    public status: i32,
    /** Response headers (names as the host reports them, normally lower case). */
    public headers: Map<string, string>,
    /** The body. */
    public body: Uint8Array,
    /** The idempotency key the request was sent with. */
    public key: string,
  ) {}

  /** True for a 2xx status. */
  get ok(): bool { return this.status >= 200 && this.status < 300; }

  /** The header `name` (case-insensitive), or null. */
  header(name: string): string | null {
    const want = name.toLowerCase();
    const keys = this.headers.keys();
    for (let i = 0; i < keys.length; i++) {
      if (keys[i].toLowerCase() == want) return this.headers.get(keys[i]);
    }
    return null;
  }

  /** The body decoded as UTF-8. */
  text(): string { return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length); }

  /** The body parsed as JSON, or null if it is not valid JSON. */
  json(): JsonValue | null { return Json.parse(this.text()); }
}

/** @internal Reads a `map str->str` (absent or nil gives an empty map). */
export function stringMapOf(v: MsgValue | null): Map<string, string> {
  const out = new Map<string, string>();
  if (v === null || v.kind != MsgKind.Map) return out;
  const m = <MsgMap>v;
  for (let i = 0; i < m.keys.length; i++) {
    const val = m.values[i];
    if (val.isNil) continue;
    out.set(m.keys[i].asString(), val.asString());
  }
  return out;
}

/** Sends `req`; returns the response or the host's error (`denied`, `network`, `timeout`, `outcome_unknown`, ...). */
export function tryHttp(req: HttpRequest): Result<HttpResponse> {
  const r = tryCallMsg("http.request", req.toMsg());
  if (!r.ok) return Result.failure<HttpResponse>(r.error!);
  const m = r.value.asMap();
  return Result.success<HttpResponse>(new HttpResponse(
    <i32>m.getI64("status"),
    stringMapOf(m.get("headers")),
    m.getBytes("body"),
    m.getString("key"),
  ));
}

/** Sends `req`; fails the run if the host returns an error. */
export function http(req: HttpRequest): HttpResponse {
  return tryHttp(req).value;
}

/** `GET url`; fails the run on error. */
export function httpGet(url: string): HttpResponse {
  return http(new HttpRequest(url, "GET"));
}

/** `POST url` with a text body; fails the run on error. */
export function httpPost(url: string, body: string, contentType: string = "text/plain; charset=utf-8"): HttpResponse {
  return http(new HttpRequest(url, "POST").header("content-type", contentType).text(body));
}
