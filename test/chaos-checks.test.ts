// The chaos test's judge (test/support/chaos/checks.ts): which repeats of an effect a fault
// explains. The events are the ones of a failed CI run (seed 21475381, 2026-12-03), relative times.
import { describe, expect, it } from "vitest";
import { explainRepeat } from "./support/chaos/checks.js";
import type { Performance } from "./support/chaos/effects.js";
import type { FleetEvent } from "./support/chaos/fleet.js";

const T = 1_796_320_210_000;
const http = (pid: number, at: number): Performance => ({ run: "c10", kind: "http", step: 2, key: "c10:11", pid, at: T + at });

// Worker 24718 is stopped as one of its requests arrives, mid-burst, and resumed 6 s later; 24839
// meanwhile took c10 over and sent its step 2.
const events: FleetEvent[] = [
  { at: T + 8_695, pid: 24718, slot: 2, what: "start" },
  { at: T + 9_580, pid: 24718, slot: 2, what: "SIGSTOP", trigger: "arrival" },
  { at: T + 14_000, pid: 24839, slot: 1, what: "start" },
  { at: T + 15_626, pid: 24718, slot: 2, what: "SIGCONT" },
];

describe("chaos checks: explaining a repeat", () => {
  it("a request in flight across its sender's stop, arriving as it resumes, after another worker redid it", () => {
    expect(explainRepeat(http(24839, 15_645), http(24718, 15_671), events)).toBe("SIGSTOP of its sender, in flight");
  });

  it("not a request its stopped sender makes well after it resumed: that one needed a fresh proof", () => {
    expect(explainRepeat(http(24839, 15_645), http(24718, 16_500), events)).toBeNull();
  });

  it("not a repeat by a worker that was never stopped", () => {
    expect(explainRepeat(http(24718, 15_645), http(24839, 15_671), events.slice(2))).toBeNull();
  });

  it("a fault of the first performer still explains the repeat after it", () => {
    expect(explainRepeat(http(24718, 9_570), http(24839, 15_645), events)).toBe("SIGSTOP on arrival");
  });
});
