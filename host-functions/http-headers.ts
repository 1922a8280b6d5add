// What a guest may send as HTTP headers: shared by the dwe ABI's http.request (http.ts) and the
// guest side of wasi:http (wasi-p2/http.ts), which runs in the component's thread and loads no HTTP client.

/**
 * Headers that frame the message or manage the connection. dwe frames the request itself (it sends
 * Content-Length for the body it was given) and owns the connection, so a guest header of these
 * kinds would contradict it (a Transfer-Encoding next to dwe's Content-Length desynchronizes the
 * server and any proxy) or turn the request into something else (Upgrade, a different Host).
 */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "expect",
  "host",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
/** RFC 9110 token: a header name. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
