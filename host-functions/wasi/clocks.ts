import type { HostFunction } from "../../engine/kernel/host-function.js";
import { RequestFields } from "../request-fields.js";
import { asBigInt, asBytes, encode, journaled, type Result } from "./codec.js";
import { ERRNO } from "./errno.js";
import { CLOCK, EVENTTYPE, MAX_SUBSCRIPTIONS, RANDOM_CHUNK, SIZE, SUBCLOCKFLAGS_ABSTIME } from "./constants.js";
import { I, i32s, L, wasiInterface } from "./interface.js";
import type { ClockState, WasiEnv, WasiImport } from "./state.js";

// MONOTONIC is anchored to wall-clock time at process start and advanced by hrtime: nanosecond
// resolution, and a resumed run (another process, maybe days later) continues from about where it
// would be, instead of from an arbitrary hrtime origin. `lastMonotonic` clamps it so it never
// goes back, even across a crash.
const HR_BASE = process.hrtime.bigint();
const REAL_BASE = BigInt(Date.now()) * 1_000_000n;
const liveMonotonic = (): bigint => REAL_BASE + (process.hrtime.bigint() - HR_BASE);
const liveRealtime = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** Requests for clock ids 0..3 are constant: encoded once (clock_time_get is hot). */
const CLOCK_REQUESTS = [0, 1, 2, 3].map((id) => encode(id));

function clockId(op: string, request: unknown): number {
  if (typeof request === "number" && Number.isInteger(request) && request >= 0 && request <= 3) return request;
  return new RequestFields(op, { id: request }).uint("id", 3);
}

export function clockFunctions(clock: ClockState): HostFunction<never>[] {
  /** `wasi.clock_time_get`: the reading is journaled; replay hands back the recorded one. */
  const clockTimeGet: HostFunction<number> = {
    name: "wasi.clock_time_get",
    kind: "read",
    parse: (r) => clockId("wasi.clock_time_get", r),
    perform(_ctx, id) {
      if (id === CLOCK.REALTIME) return liveRealtime();
      const now = liveMonotonic();
      return now > clock.lastMonotonic ? now : clock.lastMonotonic;
    },
  };

  /** `wasi.random_get`: the bytes are journaled. */
  const randomGet: HostFunction<number> = {
    name: "wasi.random_get",
    kind: "read",
    parse: (r) =>
      typeof r === "number" && Number.isInteger(r) && r >= 0 && r <= RANDOM_CHUNK
        ? r
        : new RequestFields("wasi.random_get", { len: r }).uint("len", RANDOM_CHUNK),
    perform: (_ctx, len) => crypto.getRandomValues(new Uint8Array(len)),
  };

  /**
   * `wasi.poll_oneoff` with one clock subscription: a durable timer. The intent (the absolute
   * deadline in epoch ms) is committed first; a resumed run sleeps only what is left, and a long
   * sleep suspends the run (the dispatcher's timer kind, like `sleep`).
   */
  const pollOneoff: HostFunction<{ clock: number; ns: bigint; abs: boolean }> = {
    name: "wasi.poll_oneoff",
    kind: "timer",
    parse(r) {
      const f = new RequestFields("wasi.poll_oneoff", r);
      const raw = (r as { ns?: unknown }).ns;
      return { clock: f.uint("clock", 3), ns: typeof raw === "bigint" ? raw : BigInt(f.uint("ns")), abs: f.bool("abs") };
    },
    deadline(_ctx, req) {
      const now = Date.now();
      if (!req.abs) return now + Number((req.ns + 999_999n) / 1_000_000n);
      if (req.clock === CLOCK.REALTIME) return Number((req.ns + 999_999n) / 1_000_000n);
      const mono = liveMonotonic() > clock.lastMonotonic ? liveMonotonic() : clock.lastMonotonic;
      return now + Math.max(0, Number((req.ns - mono + 999_999n) / 1_000_000n));
    },
  };

  return [clockTimeGet, randomGet, pollOneoff] as HostFunction<never>[];
}

interface Sub {
  userdata: bigint;
  tag: number;
  clock: number;
  ns: bigint;
  abs: boolean;
  fd: number;
}

type ClockImport = "clock_time_get" | "clock_res_get" | "random_get" | "poll_oneoff" | "sched_yield";

function clockImports(env: WasiEnv): Record<ClockImport, WasiImport> {
  const { mem, dispatcher, clock } = env;

  const clock_time_get = (id: number, _precision: bigint, out: number): Result => {
    mem.check(out, 8);
    const request = CLOCK_REQUESTS[id];
    if (request === undefined) return ERRNO.EINVAL;
    return journaled(dispatcher, "wasi.clock_time_get", request, (v) => {
      const t = asBigInt(v);
      if (id === CLOCK.REALTIME) clock.lastRealtime = t;
      else if (t > clock.lastMonotonic) clock.lastMonotonic = t;
      mem.setU64(out, t);
      return ERRNO.ESUCCESS;
    });
  };

  /** Constant resolutions: not journaled (nothing in them depends on the host or the time). */
  const clock_res_get = (id: number, out: number): number => {
    if (id < 0 || id > 3) return ERRNO.EINVAL;
    mem.setU64(out, id === CLOCK.REALTIME ? 1_000_000n : 1n);
    return ERRNO.ESUCCESS;
  };

  const random_get = (buf: number, len: number): Result => {
    mem.check(buf, len >>> 0);
    const total = len >>> 0;
    const step = (done: number): Result => {
      if (done >= total) return ERRNO.ESUCCESS;
      const n = Math.min(RANDOM_CHUNK, total - done);
      return journaled(dispatcher, "wasi.random_get", encode(n), (v) => {
        const bytes = asBytes(v);
        mem.write(buf + done, bytes.subarray(0, n));
        return bytes.length < n ? ERRNO.EIO : step(done + n);
      });
    };
    return step(0);
  };

  const poll_oneoff = (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): Result => {
    const n = nsubs >>> 0;
    if (n === 0 || n > MAX_SUBSCRIPTIONS) return ERRNO.EINVAL;
    mem.check(inPtr, n * SIZE.SUBSCRIPTION);
    mem.check(outPtr, n * SIZE.EVENT);
    mem.check(neventsPtr, 4);
    const subs: Sub[] = [];
    for (let i = 0; i < n; i++) {
      const p = inPtr + i * SIZE.SUBSCRIPTION;
      subs.push({
        userdata: mem.u64(p),
        tag: mem.u8At(p + 8),
        clock: mem.u32(p + 16),
        ns: mem.u64(p + 24),
        abs: (mem.u16(p + 40) & SUBCLOCKFLAGS_ABSTIME) !== 0,
        fd: mem.u32(p + 16),
      });
    }
    let nevents = 0;
    const event = (s: Sub, errno: number, nbytes: bigint) => {
      const p = outPtr + nevents++ * SIZE.EVENT;
      mem.write(p, new Uint8Array(SIZE.EVENT));
      mem.setU64(p, s.userdata);
      mem.setU16(p + 8, errno);
      mem.setU8(p + 10, s.tag);
      mem.setU64(p + 16, nbytes);
    };
    // Stdin and files are always ready: fd subscriptions complete at once, without a journal
    // entry (the answer depends only on the fd table).
    const fdSubs = subs.filter((s) => s.tag === EVENTTYPE.FD_READ || s.tag === EVENTTYPE.FD_WRITE);
    const clockSubs = subs.filter((s) => s.tag === EVENTTYPE.CLOCK);
    for (const s of subs) if (s.tag > EVENTTYPE.FD_WRITE) event(s, ERRNO.EINVAL, 0n);
    for (const s of fdSubs) {
      const e = env.table.get(s.fd);
      if (!e || (s.tag === EVENTTYPE.FD_READ ? !e.read : !e.write)) event(s, ERRNO.EBADF, 0n);
      else event(s, ERRNO.ESUCCESS, e.kind === "stdin" ? BigInt(Math.max(0, env.run.input.length - e.offset)) : 0n);
    }
    // The earliest clock, estimated from the readings the guest has seen (deterministic).
    let first: Sub | undefined;
    let firstDelay = 0n;
    for (const s of clockSubs) {
      if (s.clock > 3) {
        event(s, ERRNO.EINVAL, 0n);
        continue;
      }
      const delay = !s.abs ? s.ns : s.ns - (s.clock === CLOCK.REALTIME ? clock.lastRealtime : clock.lastMonotonic);
      if (first === undefined || delay < firstDelay) [first, firstDelay] = [s, delay];
    }
    if (first === undefined || nevents > 0 || firstDelay <= 0n) {
      // Something is ready now (or the deadline has passed): no wait, nothing to journal.
      if (first !== undefined && (nevents === 0 || firstDelay <= 0n)) event(first, ERRNO.ESUCCESS, 0n);
      mem.setU32(neventsPtr, nevents);
      return ERRNO.ESUCCESS;
    }
    const sub = first;
    return journaled(dispatcher, "wasi.poll_oneoff", encode({ clock: sub.clock, ns: sub.ns, abs: sub.abs }), () => {
      event(sub, ERRNO.ESUCCESS, 0n);
      mem.setU32(neventsPtr, nevents);
      return ERRNO.ESUCCESS;
    });
  };

  const sched_yield = (): number => ERRNO.ESUCCESS;

  return { clock_time_get, clock_res_get, random_get, poll_oneoff, sched_yield };
}

/** Clocks, random numbers, poll_oneoff and sched_yield. */
export const clocksInterface = wasiInterface({
  name: "clocks",
  imports: {
    clock_time_get: { params: [I, L, I], ops: ["wasi.clock_time_get"] },
    clock_res_get: { params: i32s(2), ops: [] },
    random_get: { params: i32s(2), ops: ["wasi.random_get"] },
    poll_oneoff: { params: i32s(4), ops: ["wasi.poll_oneoff"] },
    sched_yield: { params: [], ops: [] },
  },
  guest: clockImports,
  host: (state) => clockFunctions(state.clock),
});
