// Golden journals (docs/reliability.md): a database and an exported run file recorded by an earlier
// version (scripts/record-golden.mjs), replayed and resumed by this one. A change to the journal
// format, the schema or replay that breaks runs already stored fails here. Each test works on a copy.
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOT, dwe, workdir } from "./support/cli.js";

const SET = join(ROOT, "test", "fixtures", "golden", "v1");
const LINE = /^i (\d+) t (\d+)$/;

describe("golden journals v1 (recorded by dwe 0.1.0 at commit e73177c)", () => {
  let w: ReturnType<typeof workdir>;
  const cli = (args: string[], db = w.db) => dwe(args, { cwd: w.dir, db });
  const output = (id: string, db = w.db) => (JSON.parse(cli(["show", id, "--json"], db).stdout) as { output: unknown }).output;
  beforeEach(() => {
    w = workdir("dwe-golden-");
    copyFileSync(join(SET, "golden.db"), w.db);
  });
  afterEach(() => w.cleanup());

  it.each(["hello", "effects", "order", "rust-std"])("the completed run %s replays cleanly against its journal (dwe verify)", (id) => {
    const r = cli(["verify", id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`run ${id}: intact and deterministic`);
    expect(r.code).toBe(0);
  });

  it("completed runs keep the outputs they were recorded with", () => {
    expect(output("hello")).toEqual({ greeting: "hello, golden" });
    expect(output("effects")).toEqual({ steps: 3 });
    expect(output("order")).toMatchObject({ order_id: "A-1", payment_id: "pay_golden", status: "completed" });
    expect(cli(["logs", "rust-std"]).stdout).toMatch(/^done 3 sum \d+$/m);
  });

  it("a run suspended waiting for its second signal completes when the signal is sent", () => {
    expect(cli(["signal", "signals", "go", "--data", '{"n":2}']).code).toBe(0);
    const r = cli(["resume", "signals"]);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ got: [{ n: 1 }, { n: 2 }], timed_out: false });
  });

  it("a WASI program suspended in a sleep resumes to completion in a directory granted anew", () => {
    const data = join(w.dir, "data");
    mkdirSync(data);
    const r = cli(["resume", "rust-std-suspended", "--dir", `${data}:/data`, "--grant"]);
    expect(r.code).toBe(0);
    // Its seed was printed before the suspension: logged once, not printed again by the replay.
    expect(r.stdout.trim().split("\n")).toEqual(["step 0", "step 1", "step 2", "step 3", expect.stringMatching(/^done 4 sum \d+$/)]);
    const lines = readFileSync(join(data, "out.txt"), "utf8").trim().split("\n");
    expect(lines.map((l) => Number(LINE.exec(l)?.[1]))).toEqual([0, 1, 2, 3]);
    const sum = lines.reduce((s, l) => s + Number(LINE.exec(l)?.[2]), 0);
    expect(r.stdout).toContain(`done 4 sum ${sum}`);
    const logs = cli(["logs", "rust-std-suspended"]).stdout.trim().split("\n");
    expect(logs).toHaveLength(6);
    expect(logs[0]).toMatch(/^seed [0-9a-f]{16}$/);
  });

  /** Resumes order-killed (killed in its sleep, the payment journaled) with new grants: no network. */
  function resumeOrderKilled(db: string): void {
    const receipts = join(w.dir, "receipts");
    mkdirSync(receipts, { recursive: true });
    const r = cli(["resume", "order-killed", "--dir", `${receipts}:/receipts`, "--allow-shell", "--grant"], db);
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    const receipt = { order_id: "A-2", payment_id: "pay_golden", payment_key: "order-killed:3", shipment: "shipped A-2" };
    expect(JSON.parse(r.stdout)).toMatchObject({ ...receipt, status: "completed", receipt: "/receipts/A-2.txt" });
    expect(JSON.parse(readFileSync(join(receipts, "A-2.txt"), "utf8"))).toMatchObject(receipt);
  }

  it("a run killed with its sleep's intent in flight resumes; its payment is answered from the journal", () => {
    const shown = JSON.parse(cli(["show", "order-killed", "--json"]).stdout) as { status: string; journal: { intents: number } };
    expect(shown).toMatchObject({ status: "running", journal: { intents: 1 } });
    resumeOrderKilled(w.db);
    expect(cli(["verify", "order-killed"]).code).toBe(0);
  });

  it("the exported run file imports into an empty database and resumes there", () => {
    const db = join(w.dir, "imported.db");
    const imported = cli(["import", join(SET, "order-killed.dwe")], db);
    expect(imported.code).toBe(0);
    resumeOrderKilled(db);
  });
});
