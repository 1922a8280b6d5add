// Retry policies for HTTP and exec. Each attempt is its own journaled call and each backoff is a
// durable `sleep`, so a crash during the backoff resumes it where it was, and a replay makes the
// same decisions (they depend only on journaled results).

import { Result } from "./abi";
import { HttpRequest, HttpResponse, tryHttp } from "./http";
import { ExecOptions, ExecResult, tryExec } from "./exec";
import { sleep } from "./time";

/** When to retry: attempts in total, exponential backoff, and which failures count. */
export class RetryPolicy {
  /** Attempts in total (1 = no retry). */
  attempts: i32 = 3;
  /** First backoff in ms; multiplied by `multiplier` after each attempt, capped at `maxBackoffMs`. */
  backoffMs: i64 = 1000;
  multiplier: f64 = 2.0;
  maxBackoffMs: i64 = 60000;
  /** Retry on host errors `network` and `timeout`. */
  onNetwork: bool = true;
  /** HTTP: retry on status 5xx and 429. */
  onServerError: bool = true;
  /** exec: retry on a non-zero exit code or a signal. */
  onNonZeroExit: bool = true;
  /** Also retry on these HTTP statuses. */
  statuses: i32[] = [];

  static of(attempts: i32, backoffMs: i64): RetryPolicy {
    const p = new RetryPolicy();
    p.attempts = attempts;
    p.backoffMs = backoffMs;
    return p;
  }

  /** The backoff before attempt `n + 1` (n from 1). */
  backoff(n: i32): i64 {
    let b = <f64>this.backoffMs;
    for (let i = 1; i < n; i++) b *= this.multiplier;
    return b > <f64>this.maxBackoffMs ? this.maxBackoffMs : <i64>b;
  }

  retriesError(code: string): bool {
    return this.onNetwork && (code == "network" || code == "timeout");
  }

  retriesStatus(status: i32): bool {
    if (this.onServerError && (status >= 500 || status == 429)) return true;
    return this.statuses.includes(status);
  }
}

/** Sends `req` under `policy`; returns the last response or error. */
export function tryHttpRetry(req: HttpRequest, policy: RetryPolicy): Result<HttpResponse> {
  let n = 1;
  while (true) {
    const r = tryHttp(req);
    const again = r.ok ? policy.retriesStatus(r.value.status) : policy.retriesError(r.error!.code);
    if (!again || n >= policy.attempts) return r;
    sleep(policy.backoff(n));
    n++;
  }
}

/** Runs `argv` under `policy`; returns the last result or error. */
export function tryExecRetry(argv: string[], opts: ExecOptions | null, policy: RetryPolicy): Result<ExecResult> {
  let n = 1;
  while (true) {
    const r = tryExec(argv, opts);
    const again = r.ok ? policy.onNonZeroExit && !r.value.success : policy.retriesError(r.error!.code);
    if (!again || n >= policy.attempts) return r;
    sleep(policy.backoff(n));
    n++;
  }
}
