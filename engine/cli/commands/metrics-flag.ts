import { UsageError } from "../../kernel/errors.js";
import { parseListen } from "../../server/listen.js";

/**
 * `dwe worker --metrics HOST:PORT [--metrics-token T]`, checked before anything starts. The
 * endpoint shows only counts (no run ids, inputs or hosts), but beyond loopback anyone who reaches
 * it could read the fleet's load and make it count the runs table: a token is required there, as
 * for `dwe server` (docs/observability.md, "Exposure").
 */
export function metricsAddress(text: string, token: string | undefined): { listen: string; token?: string } {
  let loopback: boolean;
  try {
    loopback = parseListen(text).loopback;
  } catch {
    throw new UsageError(`bad --metrics '${text}': give HOST:PORT, e.g. 127.0.0.1:9464 (port 0 picks a free one)`);
  }
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) {
    throw new UsageError("bad --metrics-token: use at least 16 characters and no spaces (e.g. `openssl rand -hex 32`)");
  }
  if (!loopback && token === undefined) {
    throw new UsageError(
      `--metrics ${text} is reachable from other machines: give a token (--metrics-token or DWE_METRICS_TOKEN) that scrapes must send as a bearer token, or listen on 127.0.0.1`,
    );
  }
  return { listen: text, ...(token !== undefined && { token }) };
}
