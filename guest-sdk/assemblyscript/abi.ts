// The dwe guest ABI v1 (docs/abi.md): the two host imports, the raw call/response dance,
// the error model (`DweError`, `Result<T>`) and `fail`.
//
// Rule: never call into the host from a top-level statement (a static initializer) of a
// module; only from functions reached from the run's entry (`run`).

import { Msg, MsgKind, MsgValue, MsgMap } from "./msgpack";

// ---- host imports -------------------------------------------------------------------------

// @ts-ignore: decorator
@external("dwe", "call")
declare function dwe_call(opPtr: usize, opLen: i32, reqPtr: usize, reqLen: i32): i32;

// @ts-ignore: decorator
@external("dwe", "response")
declare function dwe_response(dstPtr: usize, dstLen: i32): i32;

// ---- errors -------------------------------------------------------------------------------

/**
 * An error the host reported for an operation (`r < 0`): `code` is one of `denied`,
 * `not_found`, `io`, `timeout`, `network`, `outcome_unknown`, `invalid` (or a future code);
 * `message` is human-readable.
 */
export class DweError {
  constructor(public code: string, public message: string) {}

  /** `"code: message"`. */
  toString(): string { return this.code + ": " + this.message; }
}

/** @internal A value of type `T` that is never looked at (null pointer or zero). */
function placeholder<T>(): T {
  if (isReference<T>()) return changetype<T>(<usize>0);
  else return <T>0;
}

/**
 * The outcome of an operation that can fail: either `ok` with a `value`, or an `error`.
 *
 * ```ts
 * const r = tryHttp(req);
 * if (!r.ok) { log("payment failed: " + r.error!.message, "warn"); return; }
 * const res = r.value;
 * ```
 *
 * Reading `value` of a failed result fails the run with the error (like the non-`try` wrappers).
 */
export class Result<T> {
  /** @internal use `Result.success` / `Result.failure`. */
  constructor(private _value: T, public readonly error: DweError | null) {}

  /** A successful result. */
  static success<T>(value: T): Result<T> { return new Result<T>(value, null); }

  /** A failed result. */
  static failure<T>(error: DweError): Result<T> { return new Result<T>(placeholder<T>(), error); }

  /** True when the operation succeeded. */
  get ok(): bool { return this.error === null; }

  /** The value; fails the run with the error (its message and code) if the operation failed. */
  get value(): T {
    const e = this.error;
    if (e !== null) failWith(e);
    return this._value;
  }
}

// ---- raw calls ----------------------------------------------------------------------------

/** @internal Copies the pending response (`len` bytes) into a fresh buffer. */
function takeResponse(len: i32): Uint8Array {
  const buf = new Uint8Array(len);
  if (len == 0) return buf; // an empty response is nil; nothing to copy
  const got = dwe_response(buf.dataStart, len);
  if (got != len) {
    throw new Error("dwe: response returned " + got.toString() + " of " + len.toString() + " bytes");
  }
  return buf;
}

/**
 * Performs operation `op` with the MessagePack-encoded request `req` (null means nil) and returns
 * the raw MessagePack response bytes, or the host's error. This is the escape hatch for operations
 * the SDK does not wrap yet (signals, child runs, ...).
 */
export function tryCall(op: string, req: Uint8Array | null): Result<Uint8Array> {
  const opBuf = String.UTF8.encode(op);
  const opPtr = changetype<usize>(opBuf);
  const opLen = opBuf.byteLength;
  let r: i32;
  if (req === null) {
    r = dwe_call(opPtr, opLen, 0, 0);
  } else {
    r = dwe_call(opPtr, opLen, req.dataStart, req.length);
  }
  if (r >= 0) return Result.success<Uint8Array>(takeResponse(r));
  return Result.failure<Uint8Array>(decodeError(op, takeResponse(-(r + 1))));
}

/** Like `tryCall`, but fails the run if the host returns an error. */
export function call(op: string, req: Uint8Array | null): Uint8Array {
  return tryCall(op, req).value;
}

/** `tryCall` with a `MsgValue` request (null means nil) and a decoded response. */
export function tryCallMsg(op: string, req: MsgValue | null): Result<MsgValue> {
  const r = tryCall(op, req === null ? null : req.encode());
  if (!r.ok) return Result.failure<MsgValue>(r.error!);
  return Result.success<MsgValue>(Msg.decode(r.value));
}

/** `call` with a `MsgValue` request and a decoded response; fails the run on error. */
export function callMsg(op: string, req: MsgValue | null): MsgValue {
  return Msg.decode(call(op, req === null ? null : req.encode()));
}

/** @internal Decodes the `{code, message}` error payload, tolerating odd shapes. */
function decodeError(op: string, bytes: Uint8Array): DweError {
  if (bytes.length == 0) return new DweError("unknown", op + " failed");
  const v = Msg.decode(bytes);
  if (v.kind != MsgKind.Map) return new DweError("unknown", op + " failed");
  const m = <MsgMap>v;
  return new DweError(strField(m, "code", "unknown"), strField(m, "message", op + " failed"));
}

function strField(m: MsgMap, key: string, def: string): string {
  const v = m.get(key);
  if (v === null) return def;
  if (v.kind == MsgKind.Str || v.kind == MsgKind.Bin) return v.asString();
  return def;
}

// ---- failing the run ----------------------------------------------------------------------

/**
 * Fails the run with `message` and an error `code` (default: the host's `guest_failed`).
 * Does not return: the host stops the guest.
 */
export function fail(message: string, code: string = ""): void {
  const req = Msg.map().set("message", Msg.str(message));
  if (code.length > 0) req.set("code", Msg.str(code));
  tryCall("run.fail", req.encode());
  unreachable(); // the host never returns from run.fail
}

/** Fails the run with a host error: its message verbatim, and its code. */
export function failWith(e: DweError): void {
  fail(e.message, e.code);
}
