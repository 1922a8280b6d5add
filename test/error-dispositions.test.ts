import { describe, expect, it } from "vitest";
import {
  BadRequest,
  ComponentTrap,
  CorruptJournal,
  DweError,
  GuestVisibleError,
  LeaseLost,
  NonDeterminismError,
  ProgramExit,
  ReportedError,
  RunCancelled,
  RunTimeout,
  ShutdownRequested,
  StoreError,
  Suspend,
  describeError,
  dispositionOf,
  threadError,
  type Disposition,
} from "../engine/kernel/errors.js";

describe("an error's disposition decides how an attempt it ends leaves the run", () => {
  const cases: [string, unknown, Disposition][] = [
    ["a long sleep suspends", new Suspend(Date.now() + 60_000), "suspend"],
    ["a wait until woken suspends", new Suspend(null), "suspend"],
    ["dwe cancel cancels", new RunCancelled("r1"), "cancelled"],
    ["a shutdown releases the run, resumable", new ShutdownRequested("SIGTERM"), "release"],
    ["a store failure leaves the run to be retried", new StoreError("disk I/O error"), "retry"],
    ["a lost lease writes nothing more", new LeaseLost("r1"), "fenced"],
    ["divergence fails the run", new NonDeterminismError("r1", 3, "clock.now", "random.bytes"), "terminal"],
    ["a damaged journal fails the run", new CorruptJournal("seq 2 fails its checksum"), "terminal"],
    ["a malformed request fails the run", new BadRequest("log", "expected a map"), "terminal"],
    ["a program's exit code fails the run", new ProgramExit(3), "terminal"],
    ["a timeout fails the run", new RunTimeout("r1", 300), "terminal"],
    ["a component's trap fails the run", new ComponentTrap("unreachable"), "terminal"],
    ["a guest-visible error that escapes a host call fails the run", new GuestVisibleError("denied", "no"), "terminal"],
    ["a Wasm trap fails the run", new WebAssembly.RuntimeError("unreachable"), "terminal"],
    ["anything else thrown fails the run", "a string", "terminal"],
  ];
  it.each(cases)("%s", (_what, err, disposition) => {
    expect(dispositionOf(err)).toBe(disposition);
  });

  // An error thrown in an attempt thread (dwe run --timeout's, dwe verify's, a worker's) crosses as
  // a typed value and is thrown again on this side: it keeps its code, message, exit code and disposition.
  it.each(cases)("%s, also after crossing a thread boundary", (_what, err, disposition) => {
    const again = new ReportedError(structuredClone(threadError(err)));
    expect(dispositionOf(again)).toBe(disposition);
    expect(describeError(again)).toEqual(describeError(err));
    expect(again.exitCode).toBe(err instanceof DweError ? err.exitCode : 2);
  });
});

describe("errors keep the codes and messages CLI users see", () => {
  it("a program's exit says its code, under code 'exit', for preview1 and components alike", () => {
    const exit = new ProgramExit(33);
    expect(describeError(exit)).toEqual({ code: "exit", message: "the program exited with code 33" });
    expect(exit.status).toBe(33);
  });

  it("a shutdown names its signal as a field, not only in its message", () => {
    const stop = new ShutdownRequested("SIGINT");
    expect(stop.signal).toBe("SIGINT");
    expect(stop.message).toBe("interrupted by SIGINT");
  });

  it("a guest-visible error is a DweError with the guest's code", () => {
    const err = new GuestVisibleError("not_found", "no such file");
    expect(err).toBeInstanceOf(DweError);
    expect(describeError(err)).toEqual({ code: "not_found", message: "no such file" });
    expect(err.exitCode).toBe(2);
  });
});
