// The console's only way to the server: the HTTP API under /api/ (docs/http-api.md), with the bearer
// token when the server has one. The token comes from the page's address (`/#token=…`, a fragment
// the browser never sends) or from the token form, and is kept for this tab only (sessionStorage).

const TOKEN_KEY = "dwe.token";

/** An error answer of the API: its status, code and the server's message (which says what to do). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** Moves a token given as `#token=…` into this tab's storage and out of the address bar. */
export function takeTokenFromAddress() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", `${location.pathname}#/`);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(withBody) {
  const h = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) h.authorization = `Bearer ${token}`;
  if (withBody) h["content-type"] = "application/json";
  return h;
}

async function failure(res) {
  try {
    const body = await res.json();
    if (body && body.error) return new ApiError(res.status, body.error.code, body.error.message);
  } catch {
    // not JSON: fall through
  }
  return new ApiError(res.status, "http", `the server answered ${res.status} ${res.statusText}`);
}

/** One API call: its JSON answer, or an ApiError carrying the server's own message. */
export async function api(method, path, body, signal) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal,
    });
  } catch (err) {
    if (signal && signal.aborted) throw err;
    throw new ApiError(0, "unreachable", "the dwe server cannot be reached (is `dwe server` still running?)");
  }
  if (!res.ok) throw await failure(res);
  return res.json();
}

export const get = (path, signal) => api("GET", path, undefined, signal);

/**
 * The events of a Server-Sent Events endpoint (`GET /api/runs/ID/logs?follow=1`), read with fetch
 * rather than EventSource so that the token can be sent. Calls `on(event, data)` per event and
 * resolves when the stream ends.
 */
export async function followEvents(path, on, signal) {
  const res = await fetch(path, { headers: { ...headers(false), accept: "text/event-stream" }, cache: "no-store", signal });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    let cut;
    while ((cut = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length > 0) on(event, JSON.parse(data.join("\n")));
    }
  }
}
