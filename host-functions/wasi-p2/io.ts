import { encode } from "../../engine/kernel/reply.js";
import { p2ErrorCode } from "../fs-error.js";
import { MAX_STDIO_WRITE, StderrTail } from "../wasi/stdio.js";
import { monotonicNow, waitUntil } from "./clocks.js";
import { asU8, hostCall, ResultError, type HostErrorReply, type P2Env } from "./host.js";
import { p2Interface } from "./interface.js";

/**
 * wasi:io (error, poll, streams). Streams are stdio or files; both are always ready, so only
 * clock pollables ever wait. Stdout/stderr writes are `wasi.fd_write` notes (log lines, shown once
 * by `dwe logs`); file writes are effects (fs.append, or a write at an offset); file reads are
 * journaled reads. Stdin is the run's input (no journal needed: it is part of the run).
 */

/** wasi:io/error.error: what went wrong in a stream; `filesystem-error-code` reads `code`. */
export class IoError {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
  toDebugString(): string {
    return `${this.code}: ${this.message}`;
  }
}

function streamFailed(e: HostErrorReply): ResultError {
  return new ResultError({ tag: "last-operation-failed", val: new IoError(p2ErrorCode(e.code), e.message) });
}

const CLOSED = () => new ResultError({ tag: "closed" });

let envOf: P2Env | null = null;
function theEnv(): P2Env {
  if (envOf === null) throw new Error("internal: wasi:io used before ioImports()");
  return envOf;
}

/** A pollable: ready at once (streams), or when the monotonic clock reaches `deadline`. */
export class Pollable {
  constructor(readonly deadline: bigint | null) {}
  ready(): boolean {
    return this.deadline === null || this.deadline <= theEnv().clock.lastMonotonic || this.deadline <= monotonicNow(theEnv());
  }
  block(): void {
    if (this.deadline !== null) waitUntil(theEnv(), this.deadline);
  }
}

/**
 * wasi:io/poll.poll: pollables that are ready now (streams) are returned at once; otherwise the
 * earliest clock deadline is waited for (one durable timer) and every pollable due by then is
 * returned. Deterministic: deadlines come from journaled readings.
 */
export function poll(list: Pollable[]): Uint32Array {
  if (list.length === 0) throw new Error("wasi:io/poll.poll called with no pollables");
  const now = list.flatMap((p, i) => (p.deadline === null || p.deadline <= theEnv().clock.lastMonotonic ? [i] : []));
  if (now.length > 0) return Uint32Array.from(now);
  const first = list.reduce((min, p) => (p.deadline! < min ? p.deadline! : min), list[0]!.deadline!);
  waitUntil(theEnv(), first);
  return Uint32Array.from(list.flatMap((p, i) => (p.deadline! <= first ? [i] : [])));
}

/** Stdin's read position is shared by every handle `get-stdin` hands out. */
type InputSource = { kind: "stdin"; pos: { offset: bigint } } | { kind: "file"; path: string } | { kind: "bytes"; bytes: Uint8Array };
/** `buffer`: bytes kept in the worker (an HTTP request body, sent whole by wasi-p2/http.ts). */
type OutputSink = { kind: "stdio"; fd: 1 | 2 } | { kind: "file"; path: string; append: boolean } | { kind: "buffer"; chunks: Uint8Array[] };

/** Largest read journaled as one entry. */
const MAX_READ = 1024 * 1024;

export class InputStream {
  constructor(
    private readonly source: InputSource,
    private offset: bigint,
  ) {}

  read(len: bigint): Uint8Array {
    const env = theEnv();
    const n = Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len);
    let bytes: Uint8Array;
    if (this.source.kind === "stdin") {
      const at = Number(this.source.pos.offset);
      bytes = env.stdin.subarray(at, at + n);
      this.source.pos.offset += BigInt(bytes.length);
    } else if (this.source.kind === "bytes") {
      bytes = this.source.bytes.subarray(Number(this.offset), Number(this.offset) + n);
      this.offset += BigInt(bytes.length);
    } else {
      const r = hostCall(env, "p2:wasi.fd_read", encode({ path: this.source.path, offset: this.offset, len: n }));
      if (!r.ok) throw streamFailed(r.error);
      bytes = asU8(r.value);
      this.offset += BigInt(bytes.length);
    }
    if (bytes.length === 0 && n > 0) throw CLOSED();
    return bytes;
  }
  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }
  subscribe(): Pollable {
    return new Pollable(null);
  }
}

/**
 * Stdout and stderr are line-buffered here, so a line written in pieces (Rust's unbuffered
 * stderr, `print!`) is one log line. Deterministic: a replay buffers the same bytes the same way.
 * What is left without a newline is written when the program ends (`flushStdio`).
 */
const pending: Record<1 | 2, Uint8Array> = { 1: new Uint8Array(0), 2: new Uint8Array(0) };

function emit(env: P2Env, fd: 1 | 2, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; at += MAX_STDIO_WRITE) {
    const r = hostCall(env, "wasi.fd_write", encode({ fd, data: bytes.subarray(at, at + MAX_STDIO_WRITE) }));
    if (!r.ok) throw streamFailed(r.error);
  }
}

/** The end of the component's stderr, quoted by the error of a trap (component-worker.ts). */
export const stderrTail = new StderrTail();

function stdioWrite(env: P2Env, fd: 1 | 2, contents: Uint8Array): void {
  if (fd === 2) stderrTail.add(contents);
  const all = new Uint8Array(pending[fd].length + contents.length);
  all.set(pending[fd]);
  all.set(contents, pending[fd].length);
  const cut = all.length >= MAX_STDIO_WRITE ? all.length : all.lastIndexOf(10) + 1;
  pending[fd] = all.slice(cut);
  if (cut > 0) emit(env, fd, all.subarray(0, cut));
}

/** Writes what stdout and stderr hold without a final newline (the program ended). */
export function flushStdio(): void {
  for (const fd of [1, 2] as const) {
    const rest = pending[fd];
    pending[fd] = new Uint8Array(0);
    if (rest.length > 0) emit(theEnv(), fd, rest);
  }
}

export class OutputStream {
  constructor(
    private readonly sink: OutputSink,
    private offset: bigint,
  ) {}

  checkWrite(): bigint {
    return BigInt(MAX_STDIO_WRITE);
  }

  write(contents: Uint8Array): void {
    const env = theEnv();
    const sink = this.sink;
    if (sink.kind === "stdio") return stdioWrite(env, sink.fd, contents);
    if (sink.kind === "buffer") {
      sink.chunks.push(contents.slice());
      return;
    }
    for (let at = 0; at < contents.length; at += MAX_STDIO_WRITE) {
      const data = contents.subarray(at, at + MAX_STDIO_WRITE);
      const r = sink.append
        ? hostCall(env, "fs.append", encode({ path: sink.path, data }))
        : hostCall(env, "p2:wasi.fd_pwrite", encode({ path: sink.path, offset: Number(this.offset), data }));
      if (!r.ok) throw streamFailed(r.error);
      this.offset += BigInt(data.length);
    }
  }
  blockingWriteAndFlush(contents: Uint8Array): void {
    this.write(contents);
  }
  flush(): void {}
  blockingFlush(): void {}
  subscribe(): Pollable {
    return new Pollable(null);
  }
  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(src: InputStream, len: bigint): bigint {
    const data = src.read(len);
    this.write(data);
    return BigInt(data.length);
  }
  blockingSplice(src: InputStream, len: bigint): bigint {
    return this.splice(src, len);
  }
}

export interface IoTypes {
  clockPollable(deadline: bigint): Pollable;
  stdin(): InputStream;
  stdout(): OutputStream;
  stderr(): OutputStream;
  fileInput(path: string, offset: bigint): InputStream;
  fileOutput(path: string, offset: bigint, append: boolean): OutputStream;
  /** A pollable that is always ready. */
  readyPollable(): Pollable;
  /** A stream over bytes already journaled (an HTTP response body). */
  bytesInput(bytes: Uint8Array): InputStream;
  /** A stream whose writes are kept in `chunks`. */
  bufferOutput(chunks: Uint8Array[]): OutputStream;
}

/** The streams and pollables of one component instance, for the other interfaces to hand out. */
export function ioTypes(env: P2Env): IoTypes {
  envOf = env;
  const stdinPos = { offset: 0n };
  return {
    clockPollable: (deadline) => new Pollable(deadline),
    stdin: () => new InputStream({ kind: "stdin", pos: stdinPos }, 0n),
    stdout: () => new OutputStream({ kind: "stdio", fd: 1 }, 0n),
    stderr: () => new OutputStream({ kind: "stdio", fd: 2 }, 0n),
    fileInput: (path, offset) => new InputStream({ kind: "file", path }, offset),
    fileOutput: (path, offset, append) => new OutputStream({ kind: "file", path, append }, offset),
    readyPollable: () => new Pollable(null),
    bytesInput: (bytes) => new InputStream({ kind: "bytes", bytes }, 0n),
    bufferOutput: (chunks) => new OutputStream({ kind: "buffer", chunks }, 0n),
  };
}

/** wasi:io: stdout/stderr writes, file reads and writes (streams over a file), clock waits. */
export const ioInterface = p2Interface({
  names: ["wasi:io/error", "wasi:io/poll", "wasi:io/streams"],
  ops: ["wasi.fd_write", "p2:wasi.fd_read", "p2:wasi.fd_pwrite", "fs.append", "wasi.clock_time_get", "wasi.poll_oneoff"],
  imports: () => ({
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll },
    "wasi:io/streams": { InputStream, OutputStream },
  }),
});
