// The Dispatcher in process, with the real host functions, a real JournalWriter and a real SQLite
// file: a live call is journaled under its kind's rule, a replay answers from the journal and writes
// nothing, and a call that differs from the journal is a non_determinism error naming the seq.
import { afterEach, describe, expect, it } from "vitest";
import { NonDeterminismError, ReplayEnd } from "../engine/kernel/errors.js";
import { Dispatcher } from "../engine/executor/dispatcher.js";
import { digestRequest } from "../engine/journal/hash.js";
import { JournalWriter } from "../engine/executor/journal-writer.js";
import { EntryState, type JournalEntry } from "../engine/journal/entry.js";
import { OP_CODES } from "../engine/kernel/ops.js";
import { encode, type Reply } from "../engine/kernel/reply.js";
import { HOST_FUNCTIONS } from "../host-functions/registry.js";
import { leasedRun, type LeasedRun } from "./support/store-run.js";

const NIL = new Uint8Array(0);

describe("Dispatcher", () => {
  let t: LeasedRun;
  afterEach(async () => t.close());

  const dispatcher = (
    recorded: readonly JournalEntry[],
    journal = new JournalWriter(t.store, t.lease, { maxBatch: 512, maxDelayMs: 5 }),
    verify?: { onReplayed: (replayed: number, consumedAll: boolean) => void },
  ) => ({
    journal,
    d: new Dispatcher({
      ...(verify && { mode: "verify" as const, onReplayed: verify.onReplayed }),
      run: t.run,
      cwd: t.dir,
      journal,
      recorded,
      functions: HOST_FUNCTIONS,
      suspendAfterMs: 10_000,
      signal: new AbortController().signal,
      deadline: null,
    }),
  });
  /** clock.now, random.bytes {len: 8}, sleep {ms: 1}, log: one call of each kind read, timer, note. */
  const workflow = async (d: Dispatcher, len = 8): Promise<Reply[]> => [
    await d.call("clock.now", NIL),
    await d.call("random.bytes", encode({ len })),
    await d.call("sleep", encode({ ms: 1 })),
    await d.call("log", encode({ level: "info", message: "hello" })),
  ];

  it("records each call as one journal entry, in order, with the reply the guest got", async () => {
    t = await leasedRun();
    const { d, journal } = dispatcher([]);
    const replies = await workflow(d);
    await d.finish();
    await journal.commit();
    const stored = await t.store.readJournal(t.run.rid);
    expect(stored.map((e) => [e.seq, e.op, e.state])).toEqual([
      [1, OP_CODES["clock.now"], EntryState.Ok],
      [2, OP_CODES["random.bytes"], EntryState.Ok],
      [3, OP_CODES.sleep, EntryState.Ok],
      [4, OP_CODES.log, EntryState.Ok],
    ]);
    expect(stored.map((e) => Buffer.from(e.payload))).toEqual(replies.map((r) => Buffer.from(r.bytes)));
    expect((await t.store.readLogs(t.run.rid)).map((l) => [l.seq, l.message])).toEqual([[4, "hello"]]);
  });

  it("replays a recorded journal: the same replies, nothing written, replaying until the last entry", async () => {
    t = await leasedRun();
    const first = dispatcher([]);
    const recordedReplies = await workflow(first.d);
    await first.journal.commit();
    const recorded = await t.store.readJournal(t.run.rid);

    const { d, journal } = dispatcher(recorded);
    expect(d.replaying).toBe(true);
    const replayed = await workflow(d);
    expect(d.replaying).toBe(false);
    await d.finish();
    await journal.commit();
    expect(replayed.map((r) => [r.ok, Buffer.from(r.bytes)])).toEqual(recordedReplies.map((r) => [r.ok, Buffer.from(r.bytes)]));
    expect(await t.store.readJournal(t.run.rid)).toEqual(recorded);
    expect(await t.store.readLogs(t.run.rid)).toHaveLength(1);
  });

  it("a call with another request than the recorded one is non_determinism at its seq", async () => {
    t = await leasedRun();
    const first = dispatcher([]);
    await workflow(first.d);
    await first.journal.commit();
    const recorded = await t.store.readJournal(t.run.rid);

    const { d } = dispatcher(recorded);
    await d.call("clock.now", NIL);
    let err: unknown;
    try {
      await d.call("random.bytes", encode({ len: 16 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonDeterminismError);
    expect((err as NonDeterminismError).code).toBe("non_determinism");
    expect((err as Error).message).toMatch(/seq 2/);
    expect((err as Error).message).toContain('random.bytes {"len":16}');
  });

  it("another operation than the recorded one, or returning before the journal's end, is non_determinism", async () => {
    t = await leasedRun();
    const first = dispatcher([]);
    await workflow(first.d);
    await first.journal.commit();
    const recorded = await t.store.readJournal(t.run.rid);

    const other = dispatcher(recorded).d;
    expect(() => other.call("random.bytes", encode({ len: 8 }))).toThrow(NonDeterminismError);

    const short = dispatcher(recorded).d;
    await short.call("clock.now", NIL);
    await expect(short.finish()).rejects.toThrow(/seq 2.*nothing more/);
    expect(await t.store.readJournal(t.run.rid)).toEqual(recorded);
  });

  describe("verify mode (dwe verify)", () => {
    /** A journal recorded by `workflow`, and a verify-mode dispatcher over it that notes its progress. */
    const recordedAndVerifier = async (extra: JournalEntry[] = []) => {
      const first = dispatcher([]);
      await workflow(first.d);
      await first.journal.commit();
      const recorded = [...(await t.store.readJournal(t.run.rid)), ...extra];
      const progress: [number, boolean][] = [];
      const { d, journal } = dispatcher(recorded, undefined, { onReplayed: (n, all) => progress.push([n, all]) });
      return { recorded, d, journal, progress };
    };

    it("answers every call from the journal, reports each one, and ends at the first call past it (ReplayEnd, its seq) performing nothing", async () => {
      t = await leasedRun();
      const { recorded, d, journal, progress } = await recordedAndVerifier();
      await workflow(d);
      expect(progress).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ]);
      let err: unknown;
      try {
        await d.call("clock.now", NIL);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ReplayEnd);
      expect(err).toMatchObject({ seq: 5, inFlight: false });
      expect(d.replayed).toBe(4);
      await d.finish();
      await journal.commit();
      expect(await t.store.readJournal(t.run.rid)).toEqual(recorded);
    });

    it("stops at an effect recorded in flight (an intent) without performing it", async () => {
      t = await leasedRun();
      const request = encode({ method: "GET", url: "http://127.0.0.1:9/never" });
      const code = OP_CODES["http.request"];
      const intent: JournalEntry = { seq: 5, op: code, digest: digestRequest(code, request), state: EntryState.Intent, payload: NIL };
      const { recorded, d } = await recordedAndVerifier([intent]);
      await workflow(d);
      expect(() => d.call("http.request", request)).toThrow(ReplayEnd);
      expect(d.replayed).toBe(4);
      expect(await t.store.readJournal(t.run.rid)).toEqual(recorded.slice(0, 4));
    });

    it("a call that differs from the journal is non_determinism with its seq, as data; the entries before it count as replayed", async () => {
      t = await leasedRun();
      const { d } = await recordedAndVerifier();
      await d.call("clock.now", NIL);
      let err: unknown;
      try {
        await d.call("random.bytes", encode({ len: 16 }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NonDeterminismError);
      expect((err as NonDeterminismError).seq).toBe(2);
      expect(d.replayed).toBe(1);
    });
  });
});
