import { BadRequest, GuestVisibleError } from "../engine/kernel/errors.js";
import type { HostFunction } from "../engine/kernel/host-function.js";
import { RequestFields } from "./request-fields.js";

interface ChildStartRequest {
  module: string | null;
  entry: string;
  input: Uint8Array;
}

interface ChildJoinRequest {
  /** One child (`id`), or the first of several to end (`ids`, checked in order). */
  ids: string[];
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
  redoSafe: () => true,
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
 * `child.join`: waits until a child of this run ends (`id`), or the first of several (`ids`: the
 * first ended one in list order); returns `{id, status, output?, error?}` (status `completed`,
 * `failed` or `cancelled`). The parent is suspended while it waits and woken when a child ends.
 */
export const childJoin: HostFunction<ChildJoinRequest> = {
  name: "child.join",
  kind: "wait",
  parse(request) {
    const f = new RequestFields("child.join", request);
    const ids = f.has("ids") ? f.strList("ids") : [f.str("id")];
    if (ids.length === 0) throw new BadRequest("child.join", "field 'ids' must name at least one child");
    return { ids, timeoutMs: f.optUint("timeout_ms") ?? null };
  },
  deadline(_ctx, req) {
    return req.timeoutMs === null ? null : Date.now() + req.timeoutMs;
  },
  async poll(ctx, req) {
    for (const id of req.ids) {
      const c = await ctx.services.child(id);
      if (!c) throw new GuestVisibleError("not_found", `run ${id} is not a child of ${ctx.runId}`);
      if (!TERMINAL.has(c.status)) continue;
      return {
        id: c.id,
        status: c.status,
        ...(c.output !== null && { output: c.output }),
        ...(c.error !== null && { error: c.error }),
      };
    }
    return undefined;
  },
};
