import { GuestVisibleError } from "../engine/errors.js";
import type { HostFunction } from "./types.js";
import { BadRequest, RequestFields } from "./request-fields.js";

interface ChildStartRequest {
  module: string | null;
  entry: string;
  input: Uint8Array;
}

interface ChildJoinRequest {
  id: string;
  timeoutMs: number | null;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * `child.start`: starts a child run (another export of this module, or another stored module) and
 * returns its id, `<run-id>.<seq>`. Journaled as an effect; repeating it after a crash finds the
 * child created the first time instead of starting a second one.
 */
export const childStart: HostFunction<ChildStartRequest> = {
  name: "child.start",
  kind: "effect",
  parse(request) {
    const f = new RequestFields("child.start", request);
    const module = f.optStr("module") ?? null;
    if (module !== null && !/^[0-9a-f]{64}$/.test(module))
      throw new BadRequest("child.start", "field 'module' must be a module's sha256 (64 hex digits)");
    const entry = f.optStr("entry") ?? "run";
    if (!/^[A-Za-z_$][A-Za-z0-9_$.-]{0,127}$/.test(entry)) throw new BadRequest("child.start", "field 'entry' must be an export name");
    return { module, entry, input: f.bytes("input") };
  },
  async perform(ctx, req) {
    return { id: await ctx.services.startChild(ctx.seq, req) };
  },
};

/**
 * `child.join`: waits until a child of this run ends; returns `{id, status, output?, error?}`
 * (status `completed`, `failed` or `cancelled`). The parent is suspended while it waits.
 */
export const childJoin: HostFunction<ChildJoinRequest> = {
  name: "child.join",
  kind: "wait",
  parse(request) {
    const f = new RequestFields("child.join", request);
    return { id: f.str("id"), timeoutMs: f.optUint("timeout_ms") ?? null };
  },
  deadline(_ctx, req) {
    return req.timeoutMs === null ? null : Date.now() + req.timeoutMs;
  },
  async poll(ctx, req) {
    const c = await ctx.services.child(req.id);
    if (!c) throw new GuestVisibleError("not_found", `run ${req.id} is not a child of ${ctx.runId}`);
    if (!TERMINAL.has(c.status)) return undefined;
    return {
      id: c.id,
      status: c.status,
      ...(c.output !== null && { output: c.output }),
      ...(c.error !== null && { error: c.error }),
    };
  },
  perform() {
    return undefined;
  },
};
