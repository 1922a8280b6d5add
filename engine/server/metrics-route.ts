import type { Dwe } from "../api/dwe.js";
import type { Handler } from "./router.js";

/**
 * `GET /metrics`: the Prometheus text exposition of the process's metrics (docs/observability.md).
 * Behind the same guard as the API (a bearer token beyond loopback); it names no run, only counts.
 */
export function metricsHandler(dwe: Dwe): Handler {
  return async ({ res }) => {
    const { text, contentType } = await dwe.metrics();
    res.writeHead(200, {
      "Content-Type": contentType,
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(text);
    return undefined;
  };
}
