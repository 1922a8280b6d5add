import { pack } from "msgpackr";
import { abiGuest, watBytes } from "./guest-wat.js";

/**
 * A guest that calls clock.now, sleeps `sleepMs`, POSTs "hi" to `url` and calls clock.now again:
 * journal entries 1 (clock.now), 2 (sleep), 3 (http.request), 4 (clock.now).
 */
export function telemetryGuest(dir: string, url: string, sleepMs: number): string {
  const sleep = pack({ ms: sleepMs });
  const post = pack({ method: "POST", url, body: Buffer.from("hi") });
  return abiGuest(dir, "telemetry", {
    data: { 0: "clock.now", 16: "sleep", 32: "http.request", 1024: watBytes(sleep), 2048: watBytes(post) },
    body: `(drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
    (drop (call $call (i32.const 16) (i32.const 5) (i32.const 1024) (i32.const ${sleep.length})))
    (drop (call $call (i32.const 32) (i32.const 12) (i32.const 2048) (i32.const ${post.length})))
    (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))`,
  });
}

/**
 * A guest that calls clock.now, GETs `url` at most once, POSTs "hi" to `url` and calls clock.now
 * again: entries 1 (clock.now), 2 (the at-most-once GET, its result committed before the guest
 * goes on), 3 (the POST, whose intent is committed on its own, as nothing is buffered before it),
 * 4 (clock.now). Killed once entry 3 is committed, the POST is in flight and a resume redoes it.
 */
export function inFlightPostGuest(dir: string, url: string): string {
  const get = pack({ method: "GET", url, at_most_once: true });
  const post = pack({ method: "POST", url, body: Buffer.from("hi") });
  return abiGuest(dir, "in-flight-post", {
    data: { 0: "clock.now", 32: "http.request", 1024: watBytes(get), 2048: watBytes(post) },
    body: `(drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))
    (drop (call $call (i32.const 32) (i32.const 12) (i32.const 1024) (i32.const ${get.length})))
    (drop (call $call (i32.const 32) (i32.const 12) (i32.const 2048) (i32.const ${post.length})))
    (drop (call $call (i32.const 0) (i32.const 9) (i32.const 0) (i32.const 0)))`,
  });
}

/** The samples of a Prometheus text exposition: `name{labels}` (labels as written) → value. */
export function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
