// A client process that adds runs while the chaos test goes on: `node submitter.js STORE TEMPLATE`
// reads "id<TAB>input" lines on stdin and creates each run as `dwe start` would (pending, with the
// module and config `dwe start` stored for run TEMPLATE), printing "created ID" or "failed ID: why".
// One process instead of a `dwe start` per run, which a loaded 2-core machine cannot start fast
// enough; a process of its own because a write may wait for SQLite's lock (held by a stopped
// worker), which must not stall the harness.
import { createInterface } from "node:readline";
import { openStoreAt } from "../../../engine/store/open.js";

async function main(): Promise<void> {
  const [location, template] = process.argv.slice(2);
  if (location === undefined || template === undefined) throw new Error("usage: submitter.js STORE TEMPLATE_RUN");
  const store = openStoreAt(location, "process", false);
  const t = await store.getRun(template);
  if (!t) throw new Error(`no run ${template} to copy`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [id, input] = line.split("\t");
    if (id === undefined || input === undefined) continue;
    try {
      await store.createRun({
        id,
        module: t.module,
        entry: t.entry,
        input: new TextEncoder().encode(input),
        config: t.config,
        parentId: null,
        status: "pending",
      });
      process.stdout.write(`created ${id}\n`);
    } catch (err) {
      process.stdout.write(`failed ${id}: ${(err as Error).message.replace(/\n/g, " ")}\n`);
    }
  }
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`submitter: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
