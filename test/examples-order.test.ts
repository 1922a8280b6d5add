// The order example, as its README runs it, crashed during the sleep and resumed: the payment is
// made once and the receipt is written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { dwe, dweAsync, example, exited, spawnDwe, workdir } from "./support/cli.js";
import { CountingServer } from "./support/servers.js";

describe("examples/order", () => {
  const w = workdir();
  const server = new CountingServer();
  let url = "";
  beforeAll(async () => {
    url = await server.start();
    mkdirSync(join(w.dir, "receipts"));
  });
  afterAll(async () => {
    await server.stop();
    w.cleanup();
  });

  it("charges once across a crash during its sleep and writes the receipt", async () => {
    const input = JSON.stringify({ order_id: "A-1001", amount: 42.5, payment_url: `${url}pay`, delay_ms: 1500 });
    const args = [
      "run",
      example("order"),
      "--id",
      "order",
      "--allow-net",
      "127.0.0.1",
      "--allow-shell",
      "--dir",
      "./receipts:/receipts",
      "--input",
      input,
    ];
    const child = spawnDwe(args, { cwd: w.dir, db: w.db });
    while (server.received.length === 0) await delay(20);
    await delay(300); // in the sleep now
    child.kill("SIGKILL");
    await exited(child);
    const r = await dweAsync(["resume", "order"], { cwd: w.dir, db: w.db });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; receipt: string; order_id: string };
    expect(out.status).toBe("completed");
    expect(out.order_id).toBe("A-1001");
    expect(server.received).toHaveLength(1);
    const key = server.received[0]!.key!;
    expect(key).toMatch(/^order:\d+$/);
    expect(JSON.parse(server.received[0]!.body)).toMatchObject({ order_id: "A-1001", idempotency_key: key });
    const receipt = JSON.parse(readFileSync(join(w.dir, "receipts", "A-1001.txt"), "utf8")) as { order_id: string };
    expect(receipt.order_id).toBe("A-1001");
    const logs = dwe(["logs", "order"], { cwd: w.dir, db: w.db }).stdout.trim().split("\n");
    expect(new Set(logs).size).toBe(logs.length);
  });
});
