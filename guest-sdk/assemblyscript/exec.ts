// Running commands (op `exec`, an external effect: at-least-once by default, with the run's
// idempotency key in `DWE_IDEMPOTENCY_KEY`). Needs `--allow-shell` on the host.

import { tryCallMsg, Result } from "./abi";
import { Msg, MsgKind, MsgMap } from "./msgpack";
import { stringMapOf } from "./http";

/** Options of `exec`. All optional. */
export class ExecOptions {
  /** Working directory (host path); default: the host's working directory. */
  cwd: string | null = null;
  /** Extra environment variables (the host adds `PATH` and `DWE_IDEMPOTENCY_KEY`). */
  env: Map<string, string> | null = null;
  /** Bytes for standard input. */
  stdin: Uint8Array | null = null;
  /** Timeout in milliseconds; 0 means the host's default (60 s). */
  timeoutMs: i64 = 0;
  /** Do not run the command again on resume if its outcome is unknown (error `outcome_unknown`). */
  atMostOnce: bool = false;
  /** Give the command an empty file in `DWE_OUTPUT`; what it writes there comes back in `ExecResult.outputFile` (at most 1 MiB). */
  outputFile: bool = false;
  /**
   * Show the command's output while it runs, each line prefixed with this ("" for none): its stdout
   * on dwe's stdout, its stderr on dwe's stderr, when dwe prints the run's output (`dwe run`,
   * `dwe resume`, `dwe pipeline` without --quiet). Nothing is shown on replay. The output still comes
   * back in the result; log it with `logShown` to keep it for `dwe logs` without printing it twice.
   */
  live: string | null = null;
}

/** The outcome of a command. A non-zero exit code is a normal result, not an error. */
export class ExecResult {
  constructor(
    /** Exit code (-1 or similar when killed by a signal). */
    public code: i32,
    /** The signal that killed the command (e.g. `SIGKILL` after a timeout), or null. */
    public signal: string | null,
    /** Standard output (cut at 16 MiB). */
    public stdout: Uint8Array,
    /** Standard error (cut at 16 MiB). */
    public stderr: Uint8Array,
    /** The idempotency key the command ran with. */
    public key: string,
    /** What the command wrote to `$DWE_OUTPUT` (with `ExecOptions.outputFile`; else empty). */
    public outputFile: Uint8Array = new Uint8Array(0),
  ) {}

  /** True when the command exited with code 0 and no signal. */
  get success(): bool { return this.code == 0 && this.signal === null; }

  /** Standard output decoded as UTF-8. */
  stdoutString(): string { return String.UTF8.decodeUnsafe(this.stdout.dataStart, <usize>this.stdout.length); }

  /** Standard error decoded as UTF-8. */
  stderrString(): string { return String.UTF8.decodeUnsafe(this.stderr.dataStart, <usize>this.stderr.length); }
}

/** The MessagePack request of op `exec`. */
export function execRequest(argv: string[], opts: ExecOptions | null): MsgMap {
  const m = Msg.map().set("argv", Msg.strings(argv));
  if (opts !== null) {
    const cwd = opts.cwd;
    if (cwd !== null) m.set("cwd", Msg.str(cwd));
    const env = opts.env;
    if (env !== null) m.set("env", Msg.stringMap(env));
    const stdin = opts.stdin;
    if (stdin !== null) m.set("stdin", Msg.bin(stdin));
    if (opts.timeoutMs > 0) m.set("timeout_ms", Msg.int(opts.timeoutMs));
    if (opts.atMostOnce) m.set("at_most_once", Msg.bool(true));
    if (opts.outputFile) m.set("output_file", Msg.bool(true));
    const live = opts.live;
    if (live !== null) m.set("live", Msg.str(live));
  }
  return m;
}

/** Runs `argv` (no shell unless you call one); returns the result or the host's error. */
export function tryExec(argv: string[], opts: ExecOptions | null = null): Result<ExecResult> {
  const r = tryCallMsg("exec", execRequest(argv, opts));
  if (!r.ok) return Result.failure<ExecResult>(r.error!);
  const m = r.value.asMap();
  const sig = m.get("signal");
  return Result.success<ExecResult>(new ExecResult(
    <i32>m.getI64("code", -1),
    sig === null || sig.kind == MsgKind.Nil ? null : sig.asString(),
    m.getBytes("stdout"),
    m.getBytes("stderr"),
    m.getString("key"),
    m.getBytes("output_file"),
  ));
}

/** Runs `argv`; fails the run if the host returns an error (a non-zero exit code is not an error). */
export function exec(argv: string[], opts: ExecOptions | null = null): ExecResult {
  return tryExec(argv, opts).value;
}

/** Quotes `s` for a POSIX shell: `'...'` with embedded `'` written as `'\''`. */
export function shellQuote(s: string): string {
  return "'" + s.replaceAll("'", "'\\''") + "'";
}
