// Spans of attempts exported with OTLP/HTTP (JSON) where the standard OTEL_* variables say
// (docs/observability.md). Loaded only when OTEL_EXPORTER_OTLP_ENDPOINT (or its traces variant) is
// set (load.ts).
import { type Span, SpanKind, SpanStatusCode, trace, context } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { AttemptSpan, SpanError, StepSpan, Tracer } from "./telemetry.js";

const VERSION = "1";

function fail(span: Span, error: SpanError | null | undefined): void {
  if (!error) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}`.slice(0, 1024) });
  span.setAttribute("dwe.error.code", error.code);
}

function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** A tracer whose spans go to the OTLP endpoint the environment names (service.name `dwe` unless OTEL_SERVICE_NAME says otherwise). */
export function otlpTracer(): Tracer {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ "service.name": "dwe" }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  const tracer = provider.getTracer("dwe", VERSION);
  return {
    attempt(run): AttemptSpan {
      const attempt = tracer.startSpan("dwe.attempt", {
        kind: SpanKind.INTERNAL,
        attributes: { "dwe.run_id": run.id, "dwe.attempt": run.attempt },
      });
      const parent = trace.setSpan(context.active(), attempt);
      return {
        step(kind, op, seq, redo): StepSpan {
          const span = tracer.startSpan(
            op,
            {
              kind: kind === "effect" ? SpanKind.CLIENT : SpanKind.INTERNAL,
              attributes: { "dwe.run_id": run.id, "dwe.seq": seq, "dwe.op": op, "dwe.kind": kind, ...(redo && { "dwe.redo": true }) },
            },
            parent,
          );
          return {
            traceparent: traceparentOf(span),
            end(error) {
              fail(span, error);
              span.end();
            },
          };
        },
        replayed(entries) {
          attempt.setAttribute("dwe.replayed_entries", entries);
        },
        end(outcome, error) {
          attempt.setAttribute("dwe.outcome", outcome);
          fail(attempt, error);
          attempt.end();
        },
      };
    },
    flush: () => provider.forceFlush(),
  };
}
