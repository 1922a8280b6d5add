import { encode } from "../../engine/kernel/reply.js";
import { FORBIDDEN_HEADERS, TOKEN } from "../http-headers.js";
import { hostCall, ResultError, type HostErrorReply, type P2Env } from "./host.js";
import { p2Interface } from "./interface.js";
import type { InputStream, IoTypes, OutputStream, Pollable } from "./io.js";

/**
 * wasi:http for components (types, outgoing-handler): a request is built in the worker
 * (deterministic state, no journal) and sent as **one `http.request` effect**, the dwe ABI's host
 * function (host-functions/http.ts): the same `--allow-net` grants, the same `Idempotency-Key`
 * header (`<run>:<seq>`, the same on a redo after a crash), at-least-once by default and
 * at-most-once on request (the header `dwe-at-most-once: true`, which is not sent). The whole
 * response is journaled; the response body is a stream over those bytes, so a replay never
 * reaches the network.
 *
 * The request is sent when it is complete: at `handle` when its body was never taken or is already
 * finished, else when the body is finished, or at the latest when the guest first asks for the
 * response (then with the body written so far). The body is buffered and sent with a
 * Content-Length; request-options' timeouts add up to the request's total deadline (the dwe ABI
 * has one, `timeout_ms`, default 30 s).
 */

/** The request header that asks for at-most-once (the dwe ABI's `at_most_once`); never sent. */
export const AT_MOST_ONCE_HEADER = "dwe-at-most-once";

type Method =
  { tag: "get" | "head" | "post" | "put" | "delete" | "connect" | "options" | "trace" | "patch" } | { tag: "other"; val: string };
type Scheme = { tag: "HTTP" | "HTTPS" } | { tag: "other"; val: string };
/** wasi:http error-code (the cases dwe produces). */
type ErrorCode =
  | { tag: "DNS-error"; val: { rcode?: string; infoCode?: number } }
  | {
      tag: "connection-refused" | "HTTP-request-denied" | "HTTP-request-URI-invalid" | "HTTP-response-incomplete" | "HTTP-response-timeout";
    }
  | { tag: "HTTP-request-method-invalid" }
  | { tag: "internal-error"; val: string | undefined };
type Outcome = { tag: "ok"; val: IncomingResponse } | { tag: "err"; val: ErrorCode };

let ioOf: IoTypes | null = null;
let envOf: P2Env | null = null;
function env(): P2Env {
  if (envOf === null) throw new Error("internal: wasi:http used before httpImports()");
  return envOf;
}
function io(): IoTypes {
  if (ioOf === null) throw new Error("internal: wasi:http used before httpImports()");
  return ioOf;
}

const headerError = (tag: "invalid-syntax" | "forbidden" | "immutable") => new ResultError({ tag });
/** Header bytes as the string Node sends byte for byte (latin1), and back. */
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

export class Fields {
  private list: [string, Uint8Array][] = [];
  /** Headers of a response (or handed to a request) cannot be changed. */
  immutable = false;

  static fromList(entries: [string, Uint8Array][]): Fields {
    const f = new Fields();
    for (const [name, value] of entries) f.append(name, value);
    return f;
  }
  /** Response headers: immutable. */
  static frozen(headers: Record<string, string>): Fields {
    const f = new Fields();
    for (const [name, value] of Object.entries(headers)) f.list.push([name, bytesOf(value)]);
    f.immutable = true;
    return f;
  }
  get(name: string): Uint8Array[] {
    const n = name.toLowerCase();
    return this.list.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v.slice());
  }
  has(name: string): boolean {
    return this.get(name).length > 0;
  }
  set(name: string, values: Uint8Array[]): void {
    this.check(name);
    for (const v of values) checkValue(v);
    this.remove(name);
    for (const v of values) this.list.push([name, v.slice()]);
  }
  delete(name: string): void {
    this.check(name);
    this.remove(name);
  }
  append(name: string, value: Uint8Array): void {
    this.check(name);
    checkValue(value);
    this.list.push([name, value.slice()]);
  }
  entries(): [string, Uint8Array][] {
    return this.list.map(([k, v]) => [k, v.slice()]);
  }
  clone(): Fields {
    const f = new Fields();
    f.list = this.entries();
    return f;
  }
  private remove(name: string): void {
    const n = name.toLowerCase();
    this.list = this.list.filter(([k]) => k.toLowerCase() !== n);
  }
  private check(name: string): void {
    if (this.immutable) throw headerError("immutable");
    if (!TOKEN.test(name)) throw headerError("invalid-syntax");
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) throw headerError("forbidden");
  }
}

function checkValue(value: Uint8Array): void {
  for (const b of value) if (b === 0 || b === 10 || b === 13 || (b < 32 && b !== 9) || b === 127) throw headerError("invalid-syntax");
}

export class RequestOptions {
  private timeouts: Record<"connect" | "firstByte" | "betweenBytes", bigint | undefined> = {
    connect: undefined,
    firstByte: undefined,
    betweenBytes: undefined,
  };
  connectTimeout(): bigint | undefined {
    return this.timeouts.connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.timeouts.connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.timeouts.firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.timeouts.firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.timeouts.betweenBytes;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.timeouts.betweenBytes = d;
  }
  /** The total deadline in ms, or undefined for the default: the timeouts set, added up. */
  totalMs(): number | undefined {
    const set = Object.values(this.timeouts).filter((t): t is bigint => t !== undefined);
    if (set.length === 0) return undefined;
    const ms = set.reduce((a, b) => a + b, 0n) / 1_000_000n;
    return Number(ms < 1n ? 1n : ms > 3_600_000n ? 3_600_000n : ms);
  }
}

export class OutgoingBody {
  readonly chunks: Uint8Array[] = [];
  private stream: OutputStream | null = null;
  finished = false;
  /** The request this body belongs to, once `handle` took it: sent when the body is finished. */
  pending: FutureIncomingResponse | null = null;

  write(): OutputStream {
    if (this.stream !== null || this.finished) throw new ResultError(undefined);
    this.stream = io().bufferOutput(this.chunks);
    return this.stream;
  }
  static finish(body: OutgoingBody, trailers: Fields | undefined): void {
    if (trailers !== undefined && trailers.entries().length > 0)
      throw new ResultError({ tag: "internal-error", val: "dwe sends no request trailers" } satisfies ErrorCode);
    body.finished = true;
    body.pending?.send();
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

export class OutgoingRequest {
  private methodValue: Method = { tag: "get" };
  private schemeValue: Scheme | undefined = undefined;
  private authorityValue: string | undefined = undefined;
  private pathValue: string | undefined = undefined;
  private bodyValue: OutgoingBody | null = null;
  /** `handle` took it: it can no longer change. */
  sent = false;

  constructor(private readonly headersValue: Fields) {}

  body(): OutgoingBody {
    if (this.bodyValue !== null) throw new ResultError(undefined);
    this.bodyValue = new OutgoingBody();
    return this.bodyValue;
  }
  takenBody(): OutgoingBody | null {
    return this.bodyValue;
  }
  method(): Method {
    return this.methodValue;
  }
  setMethod(method: Method): void {
    if (method.tag === "other" && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method.val)) throw new ResultError(undefined);
    this.methodValue = method;
  }
  pathWithQuery(): string | undefined {
    return this.pathValue;
  }
  setPathWithQuery(path: string | undefined): void {
    if (path !== undefined && /[\s\0]/.test(path)) throw new ResultError(undefined);
    this.pathValue = path;
  }
  scheme(): Scheme | undefined {
    return this.schemeValue;
  }
  setScheme(scheme: Scheme | undefined): void {
    this.schemeValue = scheme;
  }
  authority(): string | undefined {
    return this.authorityValue;
  }
  setAuthority(authority: string | undefined): void {
    if (authority !== undefined && /[\s\0/?#@]/.test(authority)) throw new ResultError(undefined);
    this.authorityValue = authority;
  }
  headers(): Fields {
    return this.headersValue;
  }

  /** The dwe ABI's `http.request` request for this request, or the error-code why there is none. */
  abiRequest(body: Uint8Array, options: RequestOptions | undefined): Record<string, unknown> | ErrorCode {
    const scheme =
      this.schemeValue?.tag === "other" ? this.schemeValue.val.toLowerCase() : (this.schemeValue?.tag ?? "HTTPS").toLowerCase();
    if (this.authorityValue === undefined || this.authorityValue === "") return { tag: "HTTP-request-URI-invalid" };
    const method = this.methodValue.tag === "other" ? this.methodValue.val : this.methodValue.tag.toUpperCase();
    const headers: Record<string, string> = {};
    let atMostOnce = false;
    for (const [name, value] of this.headersValue.entries()) {
      if (name.toLowerCase() === AT_MOST_ONCE_HEADER) {
        atMostOnce = /^(true|1|yes)$/i.test(latin1(value));
        continue;
      }
      const text = latin1(value);
      headers[name] = headers[name] === undefined ? text : `${headers[name]}, ${text}`;
    }
    const timeout = options?.totalMs();
    return {
      method,
      url: `${scheme}://${this.authorityValue}${this.pathValue ?? "/"}`,
      headers,
      body,
      ...(timeout !== undefined && { timeout_ms: timeout }),
      at_most_once: atMostOnce,
    };
  }
}

/** dwe's error of an `http.request` (docs/abi.md codes) as a wasi:http error-code. */
export function errorCodeOf(e: HostErrorReply): ErrorCode {
  switch (e.code) {
    case "denied":
      return { tag: "HTTP-request-denied" };
    case "timeout":
      return { tag: "HTTP-response-timeout" };
    case "network":
      if (/ECONNREFUSED/.test(e.message)) return { tag: "connection-refused" };
      if (/ENOTFOUND|EAI_AGAIN/.test(e.message)) return { tag: "DNS-error", val: {} };
      if (/cut off/.test(e.message)) return { tag: "HTTP-response-incomplete" };
      return { tag: "internal-error", val: `network: ${e.message}` };
    case "invalid":
      if (/URL/.test(e.message)) return { tag: "HTTP-request-URI-invalid" };
      if (/method/.test(e.message)) return { tag: "HTTP-request-method-invalid" };
      return { tag: "internal-error", val: `invalid: ${e.message}` };
    default:
      return { tag: "internal-error", val: `${e.code}: ${e.message}` };
  }
}

export class FutureIncomingResponse {
  private outcome: Outcome | null = null;
  private taken = false;

  constructor(
    private readonly request: OutgoingRequest,
    private readonly options: RequestOptions | undefined,
  ) {}

  /** Sends the request: one journaled `http.request` (answered from the journal on replay). */
  send(): void {
    if (this.outcome !== null) return;
    const body = this.request.takenBody()?.bytes() ?? new Uint8Array(0);
    const req = this.request.abiRequest(body, this.options);
    if ("tag" in req) {
      this.outcome = { tag: "err", val: req as ErrorCode };
      return;
    }
    const r = hostCall(env(), "http.request", encode(req));
    if (!r.ok) {
      this.outcome = { tag: "err", val: errorCodeOf(r.error) };
      return;
    }
    const v = r.value as { status?: unknown; headers?: unknown; body?: unknown };
    const headers = v.headers !== null && typeof v.headers === "object" ? (v.headers as Record<string, string>) : {};
    const bytes = v.body instanceof Uint8Array ? v.body : new Uint8Array(0);
    this.outcome = { tag: "ok", val: new IncomingResponse(typeof v.status === "number" ? v.status : 0, Fields.frozen(headers), bytes) };
  }
  subscribe(): Pollable {
    return io().readyPollable();
  }
  get(): { tag: "ok"; val: Outcome } | { tag: "err"; val: undefined } | undefined {
    if (this.taken) return { tag: "err", val: undefined };
    this.send();
    this.taken = true;
    return { tag: "ok", val: this.outcome! };
  }
}

export class IncomingResponse {
  private consumed = false;
  constructor(
    private readonly statusValue: number,
    private readonly headersValue: Fields,
    private readonly bodyBytes: Uint8Array,
  ) {}
  status(): number {
    return this.statusValue;
  }
  headers(): Fields {
    return this.headersValue;
  }
  consume(): IncomingBody {
    if (this.consumed) throw new ResultError(undefined);
    this.consumed = true;
    return new IncomingBody(this.bodyBytes);
  }
}

export class IncomingBody {
  private streamed = false;
  constructor(private readonly bytes: Uint8Array) {}
  stream(): InputStream {
    if (this.streamed) throw new ResultError(undefined);
    this.streamed = true;
    return io().bytesInput(this.bytes);
  }
  static finish(_body: IncomingBody): FutureTrailers {
    return new FutureTrailers();
  }
}

/** A response has no trailers here (Node's client gives them only after the body; dwe keeps none). */
export class FutureTrailers {
  private taken = false;
  subscribe(): Pollable {
    return io().readyPollable();
  }
  get(): { tag: "ok"; val: { tag: "ok"; val: undefined } } | { tag: "err"; val: undefined } {
    if (this.taken) return { tag: "err", val: undefined };
    this.taken = true;
    return { tag: "ok", val: { tag: "ok", val: undefined } };
  }
}

/** Server-side resources: a command component never receives requests. */
class Unsupported {
  constructor() {
    throw new Error("dwe runs command components: wasi:http's incoming side (a server) is not supported");
  }
}

/** `wasi:http/outgoing-handler.handle`: takes the request; it is sent once complete (above). */
function handle(request: OutgoingRequest, options: RequestOptions | undefined): FutureIncomingResponse {
  if (request.sent) throw new ResultError({ tag: "internal-error", val: "this request was already handed to handle" } satisfies ErrorCode);
  request.sent = true;
  const future = new FutureIncomingResponse(request, options);
  const body = request.takenBody();
  if (body === null || body.finished) future.send();
  else body.pending = future;
  return future;
}

function httpImports(p2: P2Env, types: IoTypes): Record<string, Record<string, unknown>> {
  envOf = p2;
  ioOf = types;
  return {
    "wasi:http/types": {
      Fields,
      RequestOptions,
      OutgoingRequest,
      OutgoingBody,
      FutureIncomingResponse,
      IncomingResponse,
      IncomingBody,
      FutureTrailers,
      IncomingRequest: Unsupported,
      OutgoingResponse: Unsupported,
      ResponseOutparam: Unsupported,
      httpErrorCode: () => undefined,
    },
    "wasi:http/outgoing-handler": { handle },
  };
}

/** wasi:http (client side): a request is the dwe ABI's journaled http.request effect. */
export const httpInterface = p2Interface({
  names: ["wasi:http/types", "wasi:http/outgoing-handler"],
  ops: ["http.request"],
  imports: httpImports,
});
