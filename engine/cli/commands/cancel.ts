import { type GlobalOptions, openStore } from "../context.js";

/** `dwe cancel RUN`: cancels the run and its descendants (at once when idle, else at their next host call or wait). */
export async function cancelCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const store = openStore(flags, false);
  try {
    const out = await store.requestCancel(runId);
    if (flags.json) process.stdout.write(JSON.stringify(out) + "\n");
    else {
      for (const id of out.cancelled) process.stdout.write(`${id} cancelled\n`);
      for (const id of out.requested) process.stdout.write(`${id} cancelling (stops at its next host call or wait)\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
