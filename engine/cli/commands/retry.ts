import { type GlobalOptions, openDwe } from "./context.js";
import { runJson } from "./format.js";
import { type GrantFlags, parseSeq } from "./options.js";
import { executeAndReport } from "./execute.js";
import { grantSpec, readUpgrade } from "./resume.js";

export interface RetryFlags extends GlobalOptions, GrantFlags {
  from?: string;
  /** Accept grant flags that widen the run's stored grants. */
  grant?: boolean;
  upgrade?: string;
  detach?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `dwe retry RUN [--from SEQ] [--upgrade NEW.wasm] [grant flags [--grant]]`: cuts a failed run's
 * journal where it failed (`Dwe.retry`) and continues it here as `dwe resume` does, printing as
 * `dwe run` does; with --detach, cuts it and leaves it pending for a worker.
 */
export async function retryCommand(runId: string, flags: RetryFlags): Promise<number> {
  const fromSeq = flags.from === undefined ? undefined : parseSeq(flags.from);
  const upgrade = readUpgrade(flags.upgrade);
  const grants = grantSpec(flags);
  const dwe = await openDwe(flags, false);
  const o = {
    ...(fromSeq !== undefined && { fromSeq }),
    ...(upgrade && { upgrade }),
    ...(grants && { grants }),
    ...(flags.grant && { widenGrants: true }),
    ...(flags.debug && { onDebug: (line: string) => process.stderr.write(line + "\n") }),
  };
  try {
    if (flags.detach) {
      const run = await dwe.retry(runId, { ...o, detach: true });
      process.stdout.write(flags.json ? `${JSON.stringify(runJson(run))}\n` : `${run.id}\n`);
      return 0;
    }
    return await executeAndReport(runId, flags, (e) => dwe.retry(runId, { ...e, ...o }));
  } finally {
    await dwe.close();
  }
}
