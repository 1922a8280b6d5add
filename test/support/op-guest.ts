import Database from "better-sqlite3";
import { pack, unpack } from "msgpackr";
import { abiGuest, watBytes } from "./guest-wat.js";

/**
 * A guest that makes one host call, `op` with `request` (encoded here as MessagePack), and ends
 * with its answer: a success becomes the run's output (the result's MessagePack bytes), an error
 * value is passed to `run.fail`, so the run fails with the error's code and message.
 */
export function opGuest(dir: string, name: string, op: string, request: unknown): string {
  const req = pack(request);
  const buf = 1024 + req.length + 16;
  return abiGuest(dir, name, {
    pages: 4,
    data: { 0: op, 64: "run.output", 80: "run.fail", 1024: watBytes(req) },
    body: `(local $r i32) (local $n i32)
    (local.set $r (call $call (i32.const 0) (i32.const ${Buffer.byteLength(op)}) (i32.const 1024) (i32.const ${req.length})))
    (if (i32.lt_s (local.get $r) (i32.const 0))
      (then
        (local.set $n (i32.sub (i32.const -1) (local.get $r)))
        (drop (call $response (i32.const ${buf}) (local.get $n)))
        (drop (call $call (i32.const 80) (i32.const 8) (i32.const ${buf}) (local.get $n))))
      (else
        (drop (call $response (i32.const ${buf}) (local.get $r)))
        ;; run.output takes bytes: wrap the result in a MessagePack bin 32 header (c6 + length, big-endian).
        (i32.store8 (i32.const ${buf - 5}) (i32.const 0xc6))
        (i32.store8 (i32.const ${buf - 4}) (i32.shr_u (local.get $r) (i32.const 24)))
        (i32.store8 (i32.const ${buf - 3}) (i32.shr_u (local.get $r) (i32.const 16)))
        (i32.store8 (i32.const ${buf - 2}) (i32.shr_u (local.get $r) (i32.const 8)))
        (i32.store8 (i32.const ${buf - 1}) (local.get $r))
        (drop (call $call (i32.const 64) (i32.const 10) (i32.const ${buf - 5}) (i32.add (local.get $r) (i32.const 5))))))`,
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
