import { prepareRun } from "../../api/prepare-run.js";
import type { ChildLimits } from "../../store/child-limits.js";
import { type GlobalOptions, dbPath, openDwe } from "./context.js";
import { type GrantFlags, parseEnv, parsePositiveInt, parseSize, readInput } from "./options.js";
import { executeAndReport } from "./execute.js";
import { runJson } from "./format.js";

export interface RunFlags extends GlobalOptions, GrantFlags {
  id?: string;
  name?: string;
  input?: string;
  env?: string[];
  entry?: string;
  timeout?: string;
  maxMemory?: string;
  maxChildren?: string;
  maxDescendants?: string;
  maxDepth?: string;
  maxJournalEntries?: string;
  maxJournalBytes?: string;
  suspendAfter?: string;
  json?: boolean;
  quiet?: boolean;
  detach?: boolean;
}

/** `dwe run MODULE [-- ARGS…]`: pins the module, creates the run, and executes it here. */
export async function runCommand(modulePath: string, args: string[], flags: RunFlags): Promise<number> {
  // Everything is checked before the database is touched, so bad input leaves it unchanged.
  const db = dbPath(flags);
  const suspendAfterMs = flags.suspendAfter === undefined ? undefined : parsePositiveInt(flags.suspendAfter, "--suspend-after");
  const prepared = prepareRun(
    modulePath,
    {
      ...(flags.id !== undefined && { id: flags.id }),
      ...(flags.name !== undefined && { name: flags.name }),
      ...(flags.entry !== undefined && { entry: flags.entry }),
      input: readInput(flags.input),
      args,
      env: parseEnv(flags.env),
      grants: { dirs: flags.dir, net: flags.allowNet, shell: flags.allowShell, envOverride: flags.allowEnvOverride },
      ...(flags.timeout !== undefined && { timeoutMs: parsePositiveInt(flags.timeout, "--timeout") }),
      ...(flags.maxMemory !== undefined && { maxMemoryBytes: parseSize(flags.maxMemory, "--max-memory") }),
      ...(flags.maxJournalEntries !== undefined && {
        maxJournalEntries: parsePositiveInt(flags.maxJournalEntries, "--max-journal-entries"),
      }),
      ...(flags.maxJournalBytes !== undefined && { maxJournalBytes: parseSize(flags.maxJournalBytes, "--max-journal-bytes") }),
      ...childLimitsFromFlags(flags),
    },
    process.cwd(),
    db,
  );
  const dwe = await openDwe(flags, true);
  try {
    if (flags.detach) {
      const run = await dwe.startPrepared(prepared, { detach: true });
      process.stdout.write(flags.json ? `${JSON.stringify(runJson(await run.info()))}\n` : `${run.id}\n`);
      return 0;
    }
    // Created under this process's lease and executed here, with this command's printing and Ctrl-C handling.
    const id = prepared.run.id;
    return await executeAndReport(id, flags, async (e, say) => {
      const { execution } = await dwe.startHere(prepared, { ...e, ...(suspendAfterMs !== undefined && { suspendAfterMs }) });
      if (!flags.json && !flags.quiet) say(`dwe: run ${id}\n`);
      return execution;
    });
  } finally {
    await dwe.close();
  }
}

/** `--max-children`, `--max-descendants`, `--max-depth`, as the API's child limits. */
function childLimitsFromFlags(flags: RunFlags): { childLimits?: Partial<ChildLimits> } {
  if (flags.maxChildren === undefined && flags.maxDescendants === undefined && flags.maxDepth === undefined) return {};
  const int = (v: string | undefined, flag: string) => (v === undefined ? undefined : parsePositiveInt(v, flag));
  return {
    childLimits: {
      children: int(flags.maxChildren, "--max-children"),
      descendants: int(flags.maxDescendants, "--max-descendants"),
      depth: int(flags.maxDepth, "--max-depth"),
    },
  };
}
