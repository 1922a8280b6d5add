// A real SQLite store in a fresh directory with one run leased to this process, for in-process tests
// of the executor's parts (no CLI, no mocks of the store).
import { openStoreAt } from "../../engine/store/open.js";
import { newOwnerId } from "../../engine/store/lease-owner.js";
import type { Lease, RunRecord, Store } from "../../engine/store/types.js";
import { workdir } from "./cli.js";

export interface LeasedRun {
  store: Store;
  run: RunRecord;
  lease: Lease;
  dir: string;
  close: () => Promise<void>;
}

const MODULE = "0".repeat(64);

export async function leasedRun(id = "r1", ttlMs = 60_000): Promise<LeasedRun> {
  const w = workdir("dwe-inproc-");
  const store = openStoreAt(w.db, "process");
  await store.putModule(MODULE, "core", new Uint8Array([0, 97, 115, 109]));
  const run = await store.createRun({
    id,
    module: MODULE,
    entry: "run",
    input: new TextEncoder().encode("{}"),
    config: { grants: { dirs: [], net: [], shell: false }, args: [], env: {}, timeoutMs: null, maxMemoryBytes: null },
    parentId: null,
    status: "pending",
  });
  const lease = await store.acquireLease(id, newOwnerId(), ttlMs, false);
  return {
    store,
    run,
    lease,
    dir: w.dir,
    close: async () => {
      await store.close();
      w.cleanup();
    },
  };
}
