// Metrics recorded where no registry is (an executor thread of `dwe worker`): kept as plain data
// and handed to the supervisor, whose registry adds them up (docs/observability.md).
import type { CounterName, HistogramName, MetricDelta } from "./metric-set.js";
import type { Metrics } from "./telemetry.js";

/** Observations held before the owner is asked to send them at once (bounds a busy thread's memory). */
const MAX_HELD = 4096;

export class BufferedMetrics implements Metrics {
  private counts = new Map<string, [CounterName, string, number]>();
  private observed = new Map<string, [HistogramName, string, number[]]>();
  private held = 0;

  /** `full` is called when many observations are held: the owner should `drain` and send them. */
  constructor(private readonly full: () => void) {}

  count(name: CounterName, label = "", n = 1): void {
    const key = `${name}\0${label}`;
    const c = this.counts.get(key);
    if (c) c[2] += n;
    else this.counts.set(key, [name, label, n]);
  }

  observe(name: HistogramName, value: number, label = ""): void {
    const key = `${name}\0${label}`;
    const o = this.observed.get(key);
    if (o) o[2].push(value);
    else this.observed.set(key, [name, label, [value]]);
    if (++this.held === MAX_HELD) this.full();
  }

  /** What was recorded since the last drain, or null if nothing was. */
  drain(): MetricDelta | null {
    if (this.counts.size === 0 && this.observed.size === 0) return null;
    const delta: MetricDelta = { counts: [...this.counts.values()], observed: [...this.observed.values()] };
    this.counts = new Map();
    this.observed = new Map();
    this.held = 0;
    return delta;
  }
}
