// effects: a fixed sequence of effects, used to test crash/resume behaviour.
//
// Input: {"n": N, "file": PATH, "url": URL}. For i in 0..N-1, in this order:
//   1. read the clock                            (clock.now)
//   2. exec ["sh", "-c", "echo <i> >> '<PATH>'"]  (exec; PATH relative to the first --dir)
//   3. POST "<i>" to URL                          (http.request)
//   4. log "step <i>"                             (log)
// Output: {"steps":N}. If a call returns an error, the run fails with that error's message.

import {
  inputJson, outputJson, fail, now, log, tryExec, tryHttp, HttpRequest, shellQuote, Json, JsonObject,
} from "../../../guest-sdk/assemblyscript";

export function run(): void {
  const input = inputJson();
  if (!input.isObject) {
    fail("input must be a JSON object {\"n\": N, \"file\": PATH, \"url\": URL}", "invalid_input");
    return;
  }
  const obj = <JsonObject>input;
  // n = 0, file = url = "" when absent or null (as in examples/effects-rust).
  const nv = obj.get("n");
  let n = 0;
  if (nv !== null && !nv.isNull) {
    if (!nv.isNumber || nv.asNumber() < 0 || nv.asNumber() != Math.floor(nv.asNumber()) || nv.asNumber() > 1e9) {
      fail("input: n must be a non-negative integer", "invalid_input");
      return;
    }
    n = <i32>nv.asNumber();
  }
  const fv = obj.get("file");
  const uv = obj.get("url");
  if ((fv !== null && !fv.isNull && !fv.isString) || (uv !== null && !uv.isNull && !uv.isString)) {
    fail("input: file and url must be strings", "invalid_input");
    return;
  }
  const file = obj.getString("file");
  const url = obj.getString("url");

  for (let i = 0; i < n; i++) {
    const step = i.toString();
    now();

    const ex = tryExec(["sh", "-c", "echo " + step + " >> " + shellQuote(file)]);
    if (!ex.ok) {
      fail(ex.error!.message);
      return;
    }

    const res = tryHttp(new HttpRequest(url, "POST").text(step));
    if (!res.ok) {
      fail(res.error!.message);
      return;
    }

    log("step " + step);
  }

  outputJson(Json.obj().setNumber("steps", <f64>n));
}
