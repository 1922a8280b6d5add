// Each host-function kind declares exactly the hooks it has (engine/kernel/host-function.ts), and
// the Dispatcher calls only those: a note without `perform`, a timer with only its deadline, a
// wait with only its deadline and poll. Type-checked: a kind missing its hook does not compile.
import { afterEach, describe, expect, it } from "vitest";
import { unpack } from "msgpackr";
import { Dispatcher } from "../engine/executor/dispatcher.js";
import { JournalWriter } from "../engine/executor/journal-writer.js";
import { EntryState } from "../engine/journal/entry.js";
import type { HostFunction } from "../engine/kernel/host-function.js";
import { encode } from "../engine/kernel/reply.js";
import { leasedRun, type LeasedRun } from "./support/store-run.js";

// @ts-expect-error a timer must say its deadline
const timerWithoutDeadline: HostFunction = { name: "sleep", kind: "timer", parse: () => null };
// @ts-expect-error a wait must poll for what it awaits
const waitWithoutPoll: HostFunction = { name: "signal.wait", kind: "wait", parse: () => null, deadline: () => null };
// @ts-expect-error a read has no intent: nothing is committed before it
const readWithIntent: HostFunction = { name: "clock.now", kind: "read", parse: () => null, perform: () => 1, intent: () => null };
// @ts-expect-error an effect must perform
const effectWithoutPerform: HostFunction = { name: "http.request", kind: "effect", parse: () => null };

describe("host-function kinds", () => {
  it("refuse at compile time a kind missing its hook (the values exist only for the type check)", () => {
    expect([timerWithoutDeadline, waitWithoutPoll, readWithIntent, effectWithoutPerform].map((f) => f.kind)).toEqual([
      "timer",
      "wait",
      "read",
      "effect",
    ]);
  });
});

describe("the Dispatcher with host functions of each kind", () => {
  let t: LeasedRun;
  afterEach(async () => t.close());

  it("a note without perform, a timer with only a deadline and a wait with only deadline and poll are journaled under their rules", async () => {
    t = await leasedRun();
    const note: HostFunction<string> = {
      name: "log",
      kind: "note",
      parse: (r) => String(r),
      logLine: (message) => ({ level: "info", message, stream: "log" }),
    };
    const deadline = Date.now() - 1;
    const timer: HostFunction<null> = { name: "sleep", kind: "timer", parse: () => null, deadline: () => deadline };
    const wait: HostFunction<null> = {
      name: "signal.wait",
      kind: "wait",
      parse: () => null,
      deadline: () => null,
      poll: () => Promise.resolve("arrived"),
    };
    const journal = new JournalWriter(t.store, t.lease, { maxBatch: 512, maxDelayMs: 5 });
    const d = new Dispatcher({
      run: t.run,
      cwd: t.dir,
      journal,
      recorded: [],
      functions: new Map([note, timer, wait].map((f) => [f.name, f as HostFunction<never>])),
      suspendAfterMs: 10_000,
      signal: new AbortController().signal,
      deadline: null,
    });
    const replies = [await d.call("log", encode("hello")), await d.call("sleep", encode(null)), await d.call("signal.wait", encode(null))];
    await d.finish();
    await journal.commit();
    expect(replies.map((r) => [r.ok, r.bytes.length === 0 ? null : (unpack(r.bytes) as unknown)])).toEqual([
      [true, null],
      [true, null],
      [true, "arrived"],
    ]);
    const stored = await t.store.readJournal(t.run.rid);
    expect(stored.map((e) => e.state)).toEqual([EntryState.Ok, EntryState.Ok, EntryState.Ok]);
    expect((await t.store.readLogs(t.run.rid)).map((l) => l.message)).toEqual(["hello"]);
  });
});
