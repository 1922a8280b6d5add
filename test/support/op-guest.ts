import Database from "better-sqlite3";
import { pack, unpack } from "msgpackr";
import { abiGuest, watBytes } from "./guest-wat.js";

/**
 * A guest that makes one host call, `op` with `request` (encoded here as MessagePack), and ends
 * with its answer: a success becomes the run's output (the result's MessagePack bytes), an error
 * value is passed to `run.fail`, so the run fails with the error's code and message.
 */
export function opGuest(dir: string, name: string, op: string, request: unknown): string {
  return opsGuest(dir, name, [{ op, request }]);
}

/** One step of an `opsGuest`: a host call, or a loop of `spin` iterations in guest code (no host call). */
export type GuestStep = { op: string; request: unknown } | { spin: number };

/**
 * A guest that makes host calls one after the other, as `opGuest` makes one: the first error value
 * is passed to `run.fail` (the run fails with it, the calls after it are not made); after the last
 * call, its result is the run's output.
 */
export function opsGuest(dir: string, name: string, calls: readonly GuestStep[]): string {
  const data: Record<number, string> = { 64: "run.output", 80: "run.fail" };
  let at = 1024;
  const placed = calls.map((c) => {
    if ("spin" in c) return c;
    const op = at;
    data[op] = c.op;
    at += Buffer.byteLength(c.op) + 16 - (Buffer.byteLength(c.op) % 16);
    const req = pack(c.request);
    data[at] = watBytes(req);
    const placedCall = { op, opLen: Buffer.byteLength(c.op), req: at, reqLen: req.length };
    at += req.length + 16 - (req.length % 16);
    return placedCall;
  });
  const buf = at + 16;
  const body = placed
    .map((c) =>
      "spin" in c
        ? `
    (local.set $i (i64.const ${c.spin}))
    (loop $spin
      (local.set $i (i64.sub (local.get $i) (i64.const 1)))
      (br_if $spin (i64.gt_s (local.get $i) (i64.const 0))))`
        : `
    (local.set $r (call $call (i32.const ${c.op}) (i32.const ${c.opLen}) (i32.const ${c.req}) (i32.const ${c.reqLen})))
    (if (i32.lt_s (local.get $r) (i32.const 0))
      (then
        (local.set $n (i32.sub (i32.const -1) (local.get $r)))
        (drop (call $response (i32.const ${buf}) (local.get $n)))
        (drop (call $call (i32.const 80) (i32.const 8) (i32.const ${buf}) (local.get $n)))
        (return)))
    (drop (call $response (i32.const ${buf}) (local.get $r)))`,
    )
    .join("");
  return abiGuest(dir, name, {
    pages: 4,
    data,
    body: `(local $r i32) (local $n i32) (local $i i64)${body}
    ;; run.output takes bytes: wrap the last result in a MessagePack bin 32 header (c6 + length, big-endian).
    (i32.store8 (i32.const ${buf - 5}) (i32.const 0xc6))
    (i32.store8 (i32.const ${buf - 4}) (i32.shr_u (local.get $r) (i32.const 24)))
    (i32.store8 (i32.const ${buf - 3}) (i32.shr_u (local.get $r) (i32.const 16)))
    (i32.store8 (i32.const ${buf - 2}) (i32.shr_u (local.get $r) (i32.const 8)))
    (i32.store8 (i32.const ${buf - 1}) (local.get $r))
    (drop (call $call (i32.const 64) (i32.const 10) (i32.const ${buf - 5}) (i32.add (local.get $r) (i32.const 5))))`,
  });
}

/** The result an `opGuest` run ended with (its output, decoded from MessagePack). */
export function runOutput(db: string, id: string): unknown {
  const conn = new Database(db, { readonly: true });
  try {
    const row = conn.prepare("SELECT output FROM runs WHERE id = ?").get(id) as { output: Buffer | null } | undefined;
    return row?.output ? unpack(row.output) : undefined;
  } finally {
    conn.close();
  }
}
