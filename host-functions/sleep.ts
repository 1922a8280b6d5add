import type { HostFunction } from "./types.js";
import { RequestFields } from "./request-fields.js";

interface SleepRequest {
  ms?: number;
  until?: number;
}

/**
 * `sleep`: a durable timer. The absolute deadline is committed first, so a resumed run sleeps only
 * what is left; long sleeps suspend the run instead of holding memory (the dispatcher decides).
 */
export const sleep: HostFunction<SleepRequest> = {
  name: "sleep",
  kind: "timer",
  parse(request) {
    const f = new RequestFields("sleep", request);
    const ms = f.optUint("ms");
    const until = f.optUint("until");
    if (ms === undefined && until === undefined) return { ms: 0 };
    return ms !== undefined ? { ms } : { until: until! };
  },
  intent(_ctx, req) {
    return { until: req.until ?? Date.now() + (req.ms ?? 0) };
  },
  perform() {
    return undefined;
  },
};
