// order: a small, realistic order workflow.
//
// Input: {"order_id": "A-1001", "amount": 42.5, "payment_url": "http://127.0.0.1:8080/pay",
//         "delay_ms"?: 1000, "receipt_dir"?: "/receipts"}
//
// 1. charge the payment service (POST JSON, with the run's idempotency key);
// 2. wait `delay_ms` (a durable sleep: a resumed run only waits what is left);
// 3. "ship" with a command (`sh -c 'echo shipped <id>'`);
// 4. write a receipt to <receipt_dir>/<order_id>.txt;
// 5. output a JSON summary.
// Every stage is logged. A crash anywhere resumes without charging twice.

import {
  inputJson, outputJson, fail, log, now, sleep, idempotencyKey, runId,
  http, HttpRequest, exec, shellQuote, writeTextFile, Json, JsonObject,
} from "../../../guest-sdk/assemblyscript";

/** Order ids become file names: allow only [A-Za-z0-9._-] and no leading dot. */
function validId(id: string): bool {
  if (id.length == 0 || id.length > 128 || id.charCodeAt(0) == 0x2e) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
      || c == 0x2d || c == 0x5f || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}

export function run(): void {
  const input = inputJson();
  if (!input.isObject) {
    fail("input must be a JSON object with order_id, amount and payment_url", "invalid_input");
    return;
  }
  const order = <JsonObject>input;
  const id = order.getString("order_id");
  const amount = order.getNumber("amount", -1);
  const paymentUrl = order.getString("payment_url");
  const delayMs = order.getI64("delay_ms", 1000);
  let receiptDir = order.getString("receipt_dir", "/receipts");
  if (receiptDir.endsWith("/")) receiptDir = receiptDir.substring(0, receiptDir.length - 1);

  if (!validId(id)) { fail("order_id must match [A-Za-z0-9._-]+", "invalid_input"); return; }
  if (!(amount > 0)) { fail("amount must be a positive number", "invalid_input"); return; }
  if (paymentUrl.length == 0) { fail("payment_url is required", "invalid_input"); return; }

  const startedAt = now();
  log("order " + id + ": received, amount " + Json.num(amount).toString());

  // 1. Payment. The key of the http.request call is stable across crash and resume; the host
  // sends it as the Idempotency-Key header, and we also put it in the body.
  const key = idempotencyKey();
  const payment = http(
    new HttpRequest(paymentUrl, "POST").json(
      Json.obj()
        .setString("order_id", id)
        .setNumber("amount", amount)
        .setString("idempotency_key", key),
    ),
  );
  if (!payment.ok) {
    log("order " + id + ": payment refused with status " + payment.status.toString(), "error");
    fail("payment refused: HTTP " + payment.status.toString() + " " + payment.text(), "payment_refused");
    return;
  }
  let paymentId = "";
  const body = payment.json();
  if (body !== null && body.isObject) paymentId = (<JsonObject>body).getString("payment_id", "");
  log("order " + id + ": paid (status " + payment.status.toString() + ", key " + payment.key + ")");

  // 2. Wait before shipping.
  log("order " + id + ": waiting " + delayMs.toString() + " ms before shipping");
  sleep(delayMs);

  // 3. Ship.
  const shipped = exec(["sh", "-c", "echo shipped " + shellQuote(id)]);
  if (!shipped.success) {
    fail("shipping command failed with code " + shipped.code.toString() + ": " + shipped.stderrString(), "shipping_failed");
    return;
  }
  const shipment = shipped.stdoutString().trim();
  log("order " + id + ": " + shipment);

  // 4. Receipt.
  const finishedAt = now();
  const receiptPath = receiptDir + "/" + id + ".txt";
  const receipt = Json.obj()
    .setString("order_id", id)
    .setNumber("amount", amount)
    .setString("payment_id", paymentId)
    .setString("payment_key", payment.key)
    .setString("shipment", shipment)
    .setString("run_id", runId())
    .setNumber("started_at", <f64>startedAt)
    .setNumber("finished_at", <f64>finishedAt);
  writeTextFile(receiptPath, receipt.toString() + "\n");
  log("order " + id + ": receipt written to " + receiptPath);

  // 5. Summary.
  receipt.setString("status", "completed").setString("receipt", receiptPath);
  outputJson(receipt);
}
