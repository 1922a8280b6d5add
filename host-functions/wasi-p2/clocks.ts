import { encode } from "../../engine/kernel/reply.js";
import { CLOCK } from "../wasi/constants.js";
import { asBig, hostCall, type P2Env } from "./host.js";
import { p2Interface } from "./interface.js";

/**
 * wasi:clocks. Readings use the preview1 operations (`wasi.clock_time_get`, the same op code and
 * request as preview1's clock_time_get) and are journaled, so a resumed run sees the times it saw
 * before the crash. The monotonic clock counts nanoseconds from the Unix epoch (anchored to the
 * wall clock, advanced by hrtime) and never goes back, even across a crash and resume.
 */

const REQUEST = { realtime: encode(CLOCK.REALTIME), monotonic: encode(CLOCK.MONOTONIC) };

export interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}

/** A journaled monotonic reading, clamped to the last one the guest saw (deterministic). */
export function monotonicNow(env: P2Env): bigint {
  const r = hostCall(env, "wasi.clock_time_get", REQUEST.monotonic);
  const t = r.ok ? asBig(r.value) : 0n;
  if (t > env.clock.lastMonotonic) env.clock.lastMonotonic = t;
  return env.clock.lastMonotonic;
}

export function wallNow(env: P2Env): Datetime {
  const r = hostCall(env, "wasi.clock_time_get", REQUEST.realtime);
  const t = r.ok ? asBig(r.value) : 0n;
  return { seconds: t / 1_000_000_000n, nanoseconds: Number(t % 1_000_000_000n) };
}

/**
 * Waits until the monotonic clock reaches `deadline`: a durable timer (`wasi.poll_oneoff`, the
 * preview1 op, with an absolute monotonic deadline). The deadline is committed before the wait, a
 * resumed run waits only what is left, and a long wait suspends the run.
 */
export function waitUntil(env: P2Env, deadline: bigint): void {
  if (deadline <= env.clock.lastMonotonic) return;
  env.call("wasi.poll_oneoff", encode({ clock: CLOCK.MONOTONIC, ns: deadline, abs: true }));
  if (deadline > env.clock.lastMonotonic) env.clock.lastMonotonic = deadline;
}

/** What the clocks need of wasi:io (io.ts's IoTypes): a pollable ready at a monotonic deadline. io.ts imports the clocks, so they do not import it back. */
interface ClockPollables {
  clockPollable(deadline: bigint): unknown;
}

function clocksImports(env: P2Env, io: ClockPollables): Record<string, Record<string, unknown>> {
  return {
    "wasi:clocks/monotonic-clock": {
      now: () => monotonicNow(env),
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => io.clockPollable(when),
      subscribeDuration: (d: bigint) => io.clockPollable(d === 0n ? env.clock.lastMonotonic : monotonicNow(env) + d),
    },
    "wasi:clocks/wall-clock": {
      now: () => wallNow(env),
      resolution: (): Datetime => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
  };
}

/** wasi:clocks: readings journaled as preview1's clock_time_get, waits as its durable poll_oneoff. */
export const clocksInterface = p2Interface({
  names: ["wasi:clocks/monotonic-clock", "wasi:clocks/wall-clock"],
  ops: ["wasi.clock_time_get", "wasi.poll_oneoff"],
  imports: clocksImports,
});
