import { type GlobalOptions, openDwe } from "./context.js";

/** `dwe terminate RUN`: ends the run and its descendants now, even one whose guest never calls the host. */
export async function terminateCommand(runId: string, flags: GlobalOptions & { json?: boolean }): Promise<number> {
  const dwe = await openDwe(flags, false);
  try {
    const out = await dwe.terminate(runId);
    if (flags.json) process.stdout.write(JSON.stringify(out) + "\n");
    else for (const id of out.terminated) process.stdout.write(`${id} terminated\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}
