import type { Dispatch } from "../../engine/kernel/reply.js";
import type { HostFunction } from "../../engine/kernel/host-function.js";
import { BadRequest } from "../../engine/kernel/errors.js";
import { RequestFields } from "../request-fields.js";
import { encode, journaled, type Result } from "./codec.js";
import { ERRNO } from "./errno.js";

/** Largest piece of stdout/stderr journaled as one log line; longer writes are short writes. */
export const MAX_STDIO_WRITE = 64 * 1024;

const TEXT = new TextDecoder("utf-8");

interface StdioWrite {
  fd: number;
  data: Uint8Array;
}

/**
 * `wasi.fd_write` to stdout/stderr: a `note`. The bytes are the log line stored with the journal
 * entry (stream `stdout`/`stderr`), printed once when committed and shown once by `dwe logs`;
 * a replayed write prints nothing. Bytes that are not UTF-8 are shown with U+FFFD.
 */
export const stdioWrite: HostFunction<StdioWrite> = {
  name: "wasi.fd_write",
  kind: "note",
  parse(r) {
    const f = new RequestFields("wasi.fd_write", r);
    const fd = f.uint("fd");
    if (fd !== 1 && fd !== 2) throw new BadRequest("wasi.fd_write", "fd must be 1 (stdout) or 2 (stderr)");
    return { fd, data: f.bytes("data") };
  },
  logLine: (req) =>
    req.fd === 2
      ? { level: "error", message: TEXT.decode(req.data), stream: "stderr", data: req.data }
      : { level: "info", message: TEXT.decode(req.data), stream: "stdout", data: req.data },
};

/**
 * Stdout and stderr, line-buffered: a line written in pieces (Rust's unbuffered stderr, `print!`,
 * a `write!` of several parts) becomes one log line, as for components (docs/components.md).
 * Deterministic: the buffer holds only bytes the guest wrote, so a replay refills it identically
 * and an unjournaled partial line lost in a crash is simply written again. What is left without
 * a newline when the program ends is written by `flush`.
 */
export class StdioBuffer {
  private readonly pending: Record<1 | 2, Uint8Array> = { 1: new Uint8Array(0), 2: new Uint8Array(0) };
  private readonly stderr = new StderrTail();

  /** Takes all of `data`; journals the complete lines now held (in pieces of at most 64 KiB). */
  write(dispatcher: Dispatch, fd: 1 | 2, data: Uint8Array): Result {
    if (fd === 2) this.stderr.add(data);
    const held = this.pending[fd];
    const all = held.length === 0 ? data : concat(held, data);
    const cut = all.length >= MAX_STDIO_WRITE ? all.length : all.lastIndexOf(10) + 1;
    this.pending[fd] = all.slice(cut);
    return emit(dispatcher, fd, all.subarray(0, cut));
  }

  /** The end of what the program wrote to stderr (a Rust panic's message), for a trap's stored error. */
  stderrTail(): string {
    return this.stderr.text();
  }

  /** Writes what stdout and stderr hold without a final newline (the program ended). */
  async flush(dispatcher: Dispatch): Promise<void> {
    for (const fd of [1, 2] as const) {
      const rest = this.pending[fd];
      this.pending[fd] = new Uint8Array(0);
      if (rest.length > 0) await emit(dispatcher, fd, rest);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function emit(dispatcher: Dispatch, fd: 1 | 2, bytes: Uint8Array, from = 0): Result {
  if (from >= bytes.length) return ERRNO.ESUCCESS;
  const data = bytes.subarray(from, from + MAX_STDIO_WRITE);
  return journaled(dispatcher, "wasi.fd_write", encode({ fd, data }), () => emit(dispatcher, fd, bytes, from + data.length));
}

/** Largest piece of stderr a failed run's error quotes. */
const TAIL = 1024;

/**
 * The last bytes a program wrote to stderr, kept so that a trap's stored error says what the
 * program said before it (a Rust panic prints its message, then traps). Deterministic: a replay
 * writes the same bytes again.
 */
export class StderrTail {
  private bytes: Uint8Array = new Uint8Array(0);

  add(data: Uint8Array): void {
    const all = concat(this.bytes, data.length > TAIL ? data.subarray(data.length - TAIL) : data);
    this.bytes = all.length > TAIL ? all.slice(all.length - TAIL) : all;
  }

  /** The kept bytes as text, trimmed, on one line per line ("; " between them). */
  text(): string {
    return TEXT.decode(this.bytes)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("note: run with `RUST_BACKTRACE=1`"))
      .join(" ");
  }
}
