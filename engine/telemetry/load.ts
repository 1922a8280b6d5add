// Loads the telemetry implementations only when they are asked for: prom-client with metrics, the
// OpenTelemetry SDK when the environment names an OTLP endpoint. Without either nothing of them is
// imported (the start-up of `dwe run` stays as it was).
import type { GaugeSources, PrometheusMetrics } from "./prometheus.js";
import { NO_TRACER, type Tracer } from "./telemetry.js";

/** True when the standard OTEL_* variables ask for traces exported with OTLP. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  if ((env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").every((e) => e.trim().toLowerCase() !== "otlp")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The OTLP tracer when tracing is configured, else the one that records nothing. */
export async function tracerFromEnv(): Promise<Tracer> {
  if (!tracingConfigured()) return NO_TRACER;
  const { otlpTracer } = await import("./otel-tracer.js");
  return otlpTracer();
}

/** A Prometheus registry of dwe's metrics. */
export async function prometheusMetrics(sources: GaugeSources): Promise<PrometheusMetrics> {
  const { PrometheusMetrics } = await import("./prometheus.js");
  return new PrometheusMetrics(sources);
}
