import type { HostFunction } from "../engine/kernel/host-function.js";
import { BadRequest } from "../engine/kernel/errors.js";
import { RequestFields } from "./request-fields.js";

interface SignalWaitRequest {
  name: string;
  /** null: wait without limit. */
  timeoutMs: number | null;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * `signal.wait`: waits for the next signal named `name` sent to this run (`dwe signal`). Signals
 * sent before the wait are kept; each is consumed by exactly one wait, oldest first, and the
 * consumption is marked with the wait's journal position so a replay gets the same one.
 */
export const signalWait: HostFunction<SignalWaitRequest> = {
  name: "signal.wait",
  kind: "wait",
  parse(request) {
    const f = new RequestFields("signal.wait", request);
    const name = f.str("name");
    if (!NAME_RE.test(name)) throw new BadRequest("signal.wait", "field 'name' must be 1-128 letters, digits, '.', '_', ':' or '-'");
    return { name, timeoutMs: f.optUint("timeout_ms") ?? null };
  },
  deadline(_ctx, req) {
    return req.timeoutMs === null ? null : Date.now() + req.timeoutMs;
  },
  async poll(ctx, req) {
    const s = await ctx.services.takeSignal(req.name, ctx.seq);
    return s && { name: s.name, data: s.data, id: s.id };
  },
};

export function checkSignalName(name: string): boolean {
  return NAME_RE.test(name);
}
