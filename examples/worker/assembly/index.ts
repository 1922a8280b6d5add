// worker: workflows for `dwe worker` (docs/worker.md), one export per scenario; used by
// test/worker-*.test.ts. Pick one with `--entry NAME`.
//
//   slow      {"url": U}: GET U; output {"status": S, "body": B}
//   steps     {"url": U, "n": N, "sleep_ms": M}: for i in 0..N-1: POST "<i>" to U, then sleep M ms;
//             output {"steps": N}
//   spin      loops forever in its own code (no host calls)
//   spin_calls  loops forever calling clock.now
//   hog       grows memory until the host's limit stops it
//   signals   {"name": N, "count": C, "timeout_ms": T}: waits for C signals named N (T < 0: no
//             limit); output {"got": [data...], "timed_out": bool}
//   fanout    {"url": U, "n": N, "sleep_ms": M}: starts N children (export `child`), then joins
//             them all; output {"children": [output...], "ids": [id...]}
//   child     {"url": U, "i": I, "sleep_ms": M}: POST "child <I>" to U, sleep M ms; output {"i": I}
//   flaky     {"url": U, "attempts": A}: GET U with a retry policy (A attempts, 200 ms backoff);
//             output {"status": S}

import {
  inputJson, outputJson, now, sleep, log, http, HttpRequest, Json, JsonObject, JsonArray, JsonValue,
  tryWaitSignal, startChildJson, joinChild, tryHttpRetry, RetryPolicy, fail,
} from "../../../guest-sdk/assemblyscript";

function obj(): JsonObject {
  const v = inputJson();
  if (!v.isObject) {
    fail("input must be a JSON object", "invalid_input");
  }
  return <JsonObject>v;
}

function num(o: JsonObject, key: string, def: f64): f64 {
  const v = o.get(key);
  return v === null || !v.isNumber ? def : v.asNumber();
}

export function slow(): void {
  const o = obj();
  const res = http(new HttpRequest(o.getString("url")));
  outputJson(Json.obj().setNumber("status", <f64>res.status).setString("body", res.text()));
}

export function run(): void {
  slow();
}

export function steps(): void {
  const o = obj();
  const n = <i32>num(o, "n", 3);
  const ms = <i64>num(o, "sleep_ms", 0);
  for (let i = 0; i < n; i++) {
    http(new HttpRequest(o.getString("url"), "POST").text(i.toString()));
    log("step " + i.toString());
    if (ms > 0) sleep(ms);
  }
  outputJson(Json.obj().setNumber("steps", <f64>n));
}

let sink: i64 = 0;

export function spin(): void {
  let i: i64 = 0;
  while (true) {
    i++;
    sink = i;
  }
}

export function spin_calls(): void {
  while (true) now();
}

export function hog(): void {
  const keep = new Array<Uint8Array>();
  while (true) keep.push(new Uint8Array(1 << 20));
}

export function signals(): void {
  const o = obj();
  const name = o.getString("name", "go");
  const count = <i32>num(o, "count", 1);
  const timeout = <i64>num(o, "timeout_ms", -1);
  const got = new JsonArray();
  let timedOut = false;
  for (let i = 0; i < count; i++) {
    const r = tryWaitSignal(name, timeout);
    if (!r.ok) {
      if (r.error!.code == "timeout") { timedOut = true; break; }
      fail(r.error!.message, r.error!.code);
    }
    const s = r.value;
    const j = s.json();
    got.push(j === null ? Json.str(s.text()) : j);
  }
  outputJson(Json.obj().set("got", got).setBool("timed_out", timedOut));
}

export function fanout(): void {
  const o = obj();
  const n = <i32>num(o, "n", 3);
  const ids = new Array<string>();
  for (let i = 0; i < n; i++) {
    ids.push(startChildJson("child", Json.obj().setString("url", o.getString("url")).setNumber("i", <f64>i).setNumber("sleep_ms", num(o, "sleep_ms", 0))));
  }
  const outs = new JsonArray();
  const idList = new JsonArray();
  for (let i = 0; i < ids.length; i++) {
    const r = joinChild(ids[i]);
    idList.push(Json.str(r.id));
    if (!r.ok) {
      outs.push(Json.obj().setString("status", r.status).setString("error", r.errorMessage));
      continue;
    }
    const j = r.json();
    outs.push(j === null ? Json.nul() : <JsonValue>j);
  }
  outputJson(Json.obj().set("children", outs).set("ids", idList));
}

export function child(): void {
  const o = obj();
  const i = num(o, "i", 0);
  http(new HttpRequest(o.getString("url"), "POST").text("child " + (<i32>i).toString()));
  const ms = <i64>num(o, "sleep_ms", 0);
  if (ms > 0) sleep(ms);
  outputJson(Json.obj().setNumber("i", i));
}

export function flaky(): void {
  const o = obj();
  const p = RetryPolicy.of(<i32>num(o, "attempts", 3), 200);
  const r = tryHttpRetry(new HttpRequest(o.getString("url")), p);
  if (!r.ok) fail(r.error!.message, r.error!.code);
  outputJson(Json.obj().setNumber("status", <f64>r.value.status));
}
