import { UsageError } from "../../kernel/errors.js";
import { checkSignalName } from "../../../host-functions/signal.js";
import { type GlobalOptions, openDwe } from "./context.js";

/** `dwe signal RUN NAME [--data JSON]`: stores the signal (kept until a wait takes it) and wakes the run. */
export async function signalCommand(
  runId: string,
  name: string,
  flags: GlobalOptions & { data?: string; json?: boolean },
): Promise<number> {
  // Checked before --data and the database, as the API checks it again, so the first problem is named.
  if (!checkSignalName(name)) throw new UsageError(`bad signal name '${name}': use 1-128 letters, digits, '.', '_', ':' or '-'`);
  let data = new Uint8Array(0);
  if (flags.data !== undefined) {
    try {
      JSON.parse(flags.data);
    } catch (err) {
      throw new UsageError(`bad --data: not valid JSON (${(err as Error).message}); quote strings, e.g. --data '"yes"'`);
    }
    data = new TextEncoder().encode(flags.data);
  }
  const dwe = await openDwe(flags, false);
  try {
    const id = await dwe.signal(runId, name, data);
    process.stdout.write(flags.json ? `${JSON.stringify({ id, run: runId, name })}\n` : `${id}\n`);
    return 0;
  } finally {
    await dwe.close();
  }
}
