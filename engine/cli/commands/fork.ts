import { UsageError } from "../../kernel/errors.js";
import { type GlobalOptions, openDwe } from "./context.js";
import { runJson } from "./format.js";
import { executeAndReport } from "./execute.js";

export interface ForkFlags extends GlobalOptions {
  at?: string;
  id?: string;
  detach?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `dwe fork RUN [--at SEQ] [--id NEW]`: a new run with a copy of RUN's first SEQ journal entries
 * (default: all that are complete); executed here as `dwe run` executes (replaying the copied part,
 * then live), or left to a worker with --detach.
 */
export async function forkCommand(sourceId: string, flags: ForkFlags): Promise<number> {
  let at: number | undefined;
  if (flags.at !== undefined) {
    if (!/^\d+$/.test(flags.at) || !Number.isSafeInteger(Number(flags.at))) {
      throw new UsageError(`bad --at '${flags.at}': expected a journal seq (a whole number, 0 for none of the entries)`);
    }
    at = Number(flags.at);
  }
  const dwe = await openDwe(flags, false);
  try {
    const run = await dwe.fork(sourceId, {
      detach: true,
      ...(at !== undefined && { at }),
      ...(flags.id !== undefined && { id: flags.id }),
    });
    if (flags.detach) {
      process.stdout.write(flags.json ? `${JSON.stringify(runJson(await run.info()))}\n` : `${run.id}\n`);
      return 0;
    }
    if (!flags.json && !flags.quiet) process.stderr.write(`dwe: run ${run.id} (forked from ${sourceId})\n`);
    return await executeAndReport(run.id, flags, (e) => dwe.execute(run.id, e));
  } finally {
    await dwe.close();
  }
}
