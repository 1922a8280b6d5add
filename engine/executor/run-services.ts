import { ChildLimitReached, GuestVisibleError } from "../kernel/errors.js";
import { compileCore } from "../runtime/wasm-binary.js";
import type { Lease, RunRecord, Store } from "../store/types.js";
import type { ChildState, RunServices } from "../kernel/host-function.js";

const exportsByModule = new Map<string, string[]>();

async function moduleExports(store: Store, sha: string): Promise<string[] | undefined> {
  const hit = exportsByModule.get(sha);
  if (hit) return hit;
  const stored = await store.getModule(sha);
  if (!stored) return undefined;
  const names = WebAssembly.Module.exports(compileCore(stored.bytes, `module ${sha.slice(0, 12)}`))
    .filter((e) => e.kind === "function")
    .map((e) => e.name);
  exportsByModule.set(sha, names);
  return names;
}

/**
 * Signals and child runs for one execution attempt, every write fenced by the attempt's lease.
 * Child ids are `<parent-id>.<seq>`: the journal position of `child.start` names the child, so a
 * parent that re-executes `child.start` after a crash finds its child instead of starting another.
 */
export function runServices(store: Store, lease: Lease, run: RunRecord): RunServices {
  return {
    async takeSignal(name, seq) {
      const s = await store.takeSignal(lease, name, seq);
      return s && { id: s.id, name: s.name, data: s.data };
    },
    async startChild(seq, req) {
      const module = req.module ?? run.module;
      const names = await moduleExports(store, module);
      if (!names)
        throw new GuestVisibleError(
          "not_found",
          `no module ${module} in the store; store it first (e.g. with \`dwe run --detach\` or \`dwe start\`)`,
        );
      if (!names.includes(req.entry)) {
        throw new GuestVisibleError("invalid", `module ${module.slice(0, 12)} has no exported function '${req.entry}' to start as a child`);
      }
      try {
        const child = await store.createChild(lease, {
          id: `${run.id}.${seq}`,
          module,
          entry: req.entry,
          input: req.input,
          config: run.config,
          parentId: run.id,
          status: "pending",
        });
        return child.id;
      } catch (err) {
        // A limit is the guest's to handle (journaled as the call's error), not the end of the run.
        if (err instanceof ChildLimitReached) throw new GuestVisibleError(err.code, err.message);
        throw err;
      }
    },
    async child(id): Promise<ChildState | undefined> {
      const c = await store.getRun(id);
      if (!c || c.parentId !== run.id) return undefined;
      return { id: c.id, status: c.status, output: c.output, error: c.error };
    },
  };
}
