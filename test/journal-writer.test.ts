// The JournalWriter in process, on a real SQLite file: what it buffers, when a batch is committed
// (entry count, delay, payload bytes), its byte cap, backpressure, and a refused write.
import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as delay } from "node:timers/promises";
import { JournalLimitReached, LeaseLost } from "../engine/kernel/errors.js";
import { BATCH_BYTES, JournalWriter } from "../engine/executor/journal-writer.js";
import { EntryState, type JournalEntry } from "../engine/journal/entry.js";
import { newOwnerId } from "../engine/store/lease-owner.js";
import { leasedRun, type LeasedRun } from "./support/store-run.js";

const entry = (seq: number, payload = new Uint8Array([seq & 255])): JournalEntry => ({
  seq,
  op: 1,
  digest: seq,
  state: EntryState.Ok,
  payload,
});

/** Lets the writer's background commit (started by `add`) reach the store. */
const settle = () => delay(0);

describe("JournalWriter", () => {
  let t: LeasedRun;
  afterEach(async () => t.close());
  const stored = async () => (await t.store.readJournal(t.run.rid)).map((e) => e.seq);

  it("buffers entries below the batch size and writes nothing until the batch is full", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, { maxBatch: 3, maxDelayMs: 600_000 });
    writer.add(entry(1));
    writer.add(entry(2));
    await settle();
    expect(await stored()).toEqual([]);
    writer.add(entry(3));
    await settle();
    expect(await stored()).toEqual([1, 2, 3]);
  });

  it("commits a partial batch once its delay has passed, without a commit call", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, { maxBatch: 512, maxDelayMs: 5 });
    writer.add(entry(1));
    for (let i = 0; i < 200 && (await stored()).length === 0; i++) await delay(25);
    expect(await stored()).toEqual([1]);
  });

  it("commits a batch early once its payload reaches BATCH_BYTES, whatever the entry count", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, { maxBatch: 512, maxDelayMs: 600_000 });
    writer.add(entry(1, new Uint8Array(BATCH_BYTES - 1)));
    await settle();
    expect(await stored()).toEqual([]);
    writer.add(entry(2, new Uint8Array(1)));
    await settle();
    expect(await stored()).toEqual([1, 2]);
    const journal = await t.store.readJournal(t.run.rid);
    expect(journal[0]!.payload.length).toBe(BATCH_BYTES - 1);
  });

  it("refuses the entry that would pass the run's byte cap (journal_limit); what fit is committed", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, {
      maxBatch: 512,
      maxDelayMs: 600_000,
      maxBytes: { runId: "r1", limit: 100, used: 90 },
    });
    writer.add(entry(1, new Uint8Array(10)));
    let refused: unknown;
    try {
      writer.add(entry(2, new Uint8Array(1)));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(JournalLimitReached);
    expect((refused as JournalLimitReached).code).toBe("journal_limit");
    expect((refused as Error).message).toContain("--max-journal-bytes");
    await writer.commit();
    expect(await stored()).toEqual([1]);
  });

  it("is backlogged while 8 batches are buffered or in flight, and no longer once they are written", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, { maxBatch: 4, maxDelayMs: 600_000 });
    for (let seq = 1; seq <= 31; seq++) writer.add(entry(seq));
    expect(writer.backlogged).toBe(false);
    writer.add(entry(32));
    expect(writer.backlogged).toBe(true);
    await writer.commit();
    expect(writer.backlogged).toBe(false);
    expect(await stored()).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it("a write refused because another owner took the lease fails this commit and every later add", async () => {
    t = await leasedRun();
    const writer = new JournalWriter(t.store, t.lease, { maxBatch: 512, maxDelayMs: 600_000 });
    writer.add(entry(1));
    await writer.commit();
    await t.store.acquireLease("r1", newOwnerId(), 60_000, true);
    writer.add(entry(2));
    await expect(writer.commit()).rejects.toBeInstanceOf(LeaseLost);
    expect(() => writer.add(entry(3))).toThrow(LeaseLost);
    expect(await stored()).toEqual([1]);
  });
});
