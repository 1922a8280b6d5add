// What the engine tells its observers (docs/observability.md): metrics and trace spans, behind
// interfaces whose default does nothing. The implementations that use prom-client and
// OpenTelemetry (prometheus.ts, otel-tracer.ts) are loaded only when asked for (load.ts), so a
// plain `dwe run` imports neither.
import type { CounterName, HistogramName, MetricDelta } from "./metric-set.js";

/** Counters and histograms the executor and the worker record (names and labels: metric-set.ts). */
export interface Metrics {
  /** Adds `n` (default 1) to a counter; `label` is the value of its one label, if it has one. */
  count(name: CounterName, label?: string, n?: number): void;
  /** Records one observation of a histogram (seconds, or entries for the batch size). */
  observe(name: HistogramName, value: number, label?: string): void;
}

/** A process's registry: what its own code records, and what its executor threads send (`apply`). */
export interface MetricsSink extends Metrics {
  apply(delta: MetricDelta): void;
}

/** What a run's wait or effect span ends with. */
export interface SpanError {
  code: string;
  message: string;
}

/** The span of one live effect, sleep or wait of an attempt. */
export interface StepSpan {
  /** W3C trace context of this span (`00-TRACE-SPAN-FLAGS`), for the `traceparent` header of HTTP effects. */
  readonly traceparent: string | undefined;
  end(error?: SpanError): void;
}

/** The span of one attempt of a run. */
export interface AttemptSpan {
  /** A child span for a live call of kind effect, timer or wait (replayed calls get none). */
  step(kind: "effect" | "timer" | "wait", op: string, seq: number, redo: boolean): StepSpan;
  /** The replay ended after `entries` journal entries were answered from the journal. */
  replayed(entries: number): void;
  /** The attempt ended: `outcome` is the run's status afterwards, or lease_lost / error. */
  end(outcome: string, error?: SpanError | null): void;
}

/** Spans of attempts, exported somewhere (OTLP) or nowhere. */
export interface Tracer {
  attempt(run: { id: string; attempt: number }): AttemptSpan;
  /** Exports what is buffered (before the process or thread ends). */
  flush(): Promise<void>;
}

/** What an attempt reports to: metrics and spans. */
export interface Telemetry {
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

export const NO_METRICS: Metrics = {
  count: () => undefined,
  observe: () => undefined,
};

const NO_STEP: StepSpan = { traceparent: undefined, end: () => undefined };
const NO_ATTEMPT: AttemptSpan = { step: () => NO_STEP, replayed: () => undefined, end: () => undefined };

export const NO_TRACER: Tracer = { attempt: () => NO_ATTEMPT, flush: () => Promise.resolve() };

export const NO_TELEMETRY: Telemetry = { metrics: NO_METRICS, tracer: NO_TRACER };
