import { GuestVisibleError } from "../engine/kernel/errors.js";
import type { HostFunction } from "../engine/kernel/host-function.js";
import { RequestFields } from "./request-fields.js";

interface SleepRequest {
  ms?: number;
  until?: number;
}

/** The longest sleep accepted: 100 years. Longer ones are a guest bug (or an attack on date arithmetic). */
export const MAX_SLEEP_MS = 100 * 365.25 * 24 * 3_600_000;
/** The latest deadline accepted: 9999-12-31T23:59:59.999Z (later ones are not valid dates everywhere). */
export const MAX_SLEEP_UNTIL = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

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
    if (ms !== undefined) {
      if (ms > MAX_SLEEP_MS)
        throw new GuestVisibleError("invalid", `sleep of ${ms} ms is longer than the ${MAX_SLEEP_MS} ms (100 years) allowed`);
      return { ms };
    }
    if (until === undefined) return { ms: 0 };
    if (until > MAX_SLEEP_UNTIL)
      throw new GuestVisibleError("invalid", `sleep until ${until} is after 9999-12-31, the latest time allowed`);
    return { until };
  },
  deadline(_ctx, req) {
    return req.until ?? Date.now() + (req.ms ?? 0);
  },
};
