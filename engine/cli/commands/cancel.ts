import { type GlobalOptions, openDwe } from "./context.js";

/** `dwe cancel RUN`: cancels the run and its descendants (at once when idle, else at their next host call or wait). */
export async function cancelCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const out = await dwe.cancel(runId);
    if (flags.json) process.stdout.write(JSON.stringify(out) + "\n");
    else {
      for (const id of out.cancelled) process.stdout.write(`${id} cancelled\n`);
      for (const id of out.requested) process.stdout.write(`${id} cancelling (stops at its next host call or wait)\n`);
    }
    return 0;
  } finally {
    await dwe.close();
  }
}
