// A worker killed between an effect and the commit of its result (issue 15, "one commit per
// effect"): an at-least-once effect's result waits for the run's next commit, so after such a kill
// the effect is done once more, with the same idempotency key, and never a third time; an
// at-most-once request and `fs.append` commit their result before the guest goes on, so they are
// never repeated. Each guest makes the effect and then computes for a few seconds without a host
// call (nothing is committed meanwhile); the worker is SIGKILLed in that window and a second worker
// finishes the run. The one-commit path is shown on SQLite and PostgreSQL, the guarded ones on SQLite.
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { opsGuest, type GuestStep } from "./support/op-guest.js";
import { waitFor, workerTestbed, type WorkerTestbed, testStores } from "./support/worker.js";

const STORES = await testStores("a worker killed between an effect and its result's commit");

/** Guest-code iterations after the effect: a few seconds here, the window in which the worker is killed. */
const SPIN = 1_200_000_000;
/** The call after the loop: not in the journal a killed worker left, so the kill came inside the loop. */
const AFTER: GuestStep = { op: "random.bytes", request: { len: 8 } };

interface JournalRow {
  seq: number;
  op: string;
  state: string;
}

async function journalOf(bed: WorkerTestbed, id: string): Promise<JournalRow[]> {
  const r = await bed.cli(["journal", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { entries: JournalRow[] }).entries;
}

async function statusOf(bed: WorkerTestbed, id: string): Promise<{ status: string; output?: unknown; error?: { code: string } }> {
  const r = await bed.cli(["show", id, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status: string; output?: unknown; error?: { code: string } };
}

/**
 * Starts run `id` of a guest making `steps`, lets a worker execute it until `effectDone` says the
 * effect happened, kills that worker with SIGKILL while the guest computes, and returns the journal
 * as the killed worker left it; then a second worker finishes the run.
 */
async function killAfterEffect(
  bed: WorkerTestbed,
  id: string,
  steps: GuestStep[],
  grants: string[],
  effectDone: () => boolean,
): Promise<{ left: JournalRow[]; end: { status: string; output?: unknown; error?: { code: string } } }> {
  const wasm = opsGuest(bed.dir, id, steps);
  const started = await bed.cli(["start", "--id", id, ...grants, wasm]);
  expect(started.code, started.stderr).toBe(0);
  const first = bed.worker();
  await waitFor("the effect", effectDone, 60_000, 5);
  // The guest is computing now (a second or more): give its thread time to have committed anything
  // it would commit. The journal left behind shows the kill came inside that loop: the call after
  // it is not there.
  await new Promise((r) => setTimeout(r, 150));
  await first.stop("SIGKILL");
  const left = await journalOf(bed, id);
  bed.worker();
  await waitFor("the run to end", async () => ["completed", "failed"].includes((await statusOf(bed, id)).status), 120_000, 100);
  return { left, end: await statusOf(bed, id) };
}

describe.each(STORES)("a worker killed between an effect and its result's commit, $store", (on) => {
  const { store, enabled } = on;
  const bed = workerTestbed("dwe-effect-commit-", { on });
  const test = enabled ? it : it.skip;

  test("an at-least-once HTTP request is repeated once, with the same idempotency key", async () => {
    const { left, end } = await killAfterEffect(
      bed,
      "alo",
      [
        // Nothing buffered before it: its intent is the fenced write, its result waits.
        { op: "http.request", request: { url: bed.url } },
        { op: "clock.now", request: null },
        // Something buffered: that commit (the first result and the clock) fences it; no intent.
        { op: "http.request", request: { url: bed.url } },
        { spin: SPIN },
        AFTER,
      ],
      ["--allow-net", "127.0.0.1"],
      () => bed.server.received.length > 1,
    );
    // Killed after the second request and before its result's commit: everything before it was
    // committed by the commit that preceded it, and the request itself left no entry.
    expect(left.map((e) => [e.seq, e.op, e.state])).toEqual([
      [1, "http.request", "ok"],
      [2, "clock.now", "ok"],
    ]);
    expect(end.status).toBe("completed");
    expect(bed.server.received.map((r) => r.key)).toEqual(["alo:1", "alo:3", "alo:3"]);
  });

  // The guarded effects take the two-commit path, the same on both stores: SQLite shows it.
  if (store === "SQLite") {
    test("an at_most_once HTTP request is not repeated: its result was committed before the guest went on", async () => {
      const { left, end } = await killAfterEffect(
        bed,
        "amo",
        [{ op: "clock.now", request: null }, { op: "http.request", request: { url: bed.url, at_most_once: true } }, { spin: SPIN }, AFTER],
        ["--allow-net", "127.0.0.1"],
        () => bed.server.received.length > 0,
      );
      expect(left.map((e) => [e.seq, e.op, e.state])).toEqual([
        [1, "clock.now", "ok"],
        [2, "http.request", "ok"],
      ]);
      expect(end.status).toBe("completed");
      expect(bed.server.received.map((r) => r.key)).toEqual(["amo:2"]);
    });

    test("fs.append is not repeated", async () => {
      const data = join(bed.dir, "data");
      mkdirSync(data);
      const file = join(data, "log.txt");
      appendFileSync(file, "before\n");
      const { left, end } = await killAfterEffect(
        bed,
        "append",
        [
          { op: "clock.now", request: null },
          { op: "fs.append", request: { path: "/data/log.txt", data: Buffer.from("once\n") } },
          { spin: SPIN },
          AFTER,
        ],
        ["--dir", `${data}:/data`],
        () => readFileSync(file, "utf8").includes("once"),
      );
      expect(left.map((e) => [e.seq, e.op, e.state])).toEqual([
        [1, "clock.now", "ok"],
        [2, "fs.append", "ok"],
      ]);
      expect(end.status).toBe("completed");
      expect(readFileSync(file, "utf8")).toBe("before\nonce\n");
    });
  }
});
