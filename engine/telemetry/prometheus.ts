// The registry of a process that exposes metrics (`dwe worker --metrics`, `dwe server --metrics`):
// prom-client, loaded only then (load.ts). Executor threads send what they recorded (MetricDelta),
// added up here, so one scrape sees the whole process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { COUNTERS, HISTOGRAMS, PREFIX, type CounterName, type HistogramName, type MetricDelta } from "./metric-set.js";
import type { MetricsSink } from "./telemetry.js";

/** What the registry reads when it is scraped. */
export interface GaugeSources {
  /** Runs in the database by status (`dwe_runs{status}`). */
  runsByStatus(): Promise<Partial<Record<string, number>>>;
  /** Runs executing in this process now (`dwe_runs_in_flight`). */
  inFlight(): number;
}

export class PrometheusMetrics implements MetricsSink {
  readonly registry = new Registry();
  private readonly counters = new Map<CounterName, Counter>();
  private readonly histograms = new Map<HistogramName, Histogram>();
  /** The one label name of each metric that has one. */
  private readonly labels = new Map<string, string>();

  constructor(sources: GaugeSources) {
    const registers = [this.registry];
    for (const [name, c] of Object.entries(COUNTERS) as [CounterName, (typeof COUNTERS)[CounterName]][]) {
      const labelNames = "label" in c ? [c.label] : [];
      if ("label" in c) this.labels.set(name, c.label);
      this.counters.set(name, new Counter({ name: `${PREFIX}${name}_total`, help: c.help, labelNames, registers }));
    }
    for (const [name, h] of Object.entries(HISTOGRAMS) as [HistogramName, (typeof HISTOGRAMS)[HistogramName]][]) {
      const labelNames = "label" in h ? [h.label] : [];
      if ("label" in h) this.labels.set(name, h.label);
      this.histograms.set(name, new Histogram({ name: `${PREFIX}${name}`, help: h.help, labelNames, buckets: [...h.buckets], registers }));
    }
    new Gauge({
      name: `${PREFIX}runs`,
      help: 'Runs in the database by status (suspended runs: status="suspended")',
      labelNames: ["status"],
      registers,
      async collect() {
        const counts = await sources.runsByStatus();
        this.reset();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}runs_in_flight`,
      help: "Runs executing in this process now",
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  count(name: CounterName, label?: string, n = 1): void {
    const c = this.counters.get(name)!;
    if (label === undefined || label === "") c.inc(n);
    else c.inc({ [this.labels.get(name)!]: label }, n);
  }

  observe(name: HistogramName, value: number, label?: string): void {
    const h = this.histograms.get(name)!;
    if (label === undefined || label === "") h.observe(value);
    else h.observe({ [this.labels.get(name)!]: label }, value);
  }

  /** Adds what an executor thread recorded. */
  apply(delta: MetricDelta): void {
    for (const [name, label, n] of delta.counts) if (name in COUNTERS) this.count(name, label, n);
    for (const [name, label, values] of delta.observed) if (name in HISTOGRAMS) for (const v of values) this.observe(name, v, label);
  }

  /** The text exposition format, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
