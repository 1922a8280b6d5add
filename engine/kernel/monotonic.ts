/**
 * Milliseconds on a monotonic clock, as `performance.now()` counts them but from an arbitrary origin:
 * the global `performance` loads node:perf_hooks at its first use (≈ 1–2 ms of `dwe run`'s start,
 * B7), process.hrtime does not. For durations only.
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
