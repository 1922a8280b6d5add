import { readFileSync } from "node:fs";
import { RunNotDue, UsageError } from "../../kernel/errors.js";
import { EXIT, type GlobalOptions, openDwe } from "./context.js";
import { type GrantFlags, parsePositiveInt } from "./options.js";
import { executeAndReport } from "./execute.js";
import type { GrantSpec, ResumeWait } from "../../api/types.js";

export interface ResumeFlags extends GlobalOptions, GrantFlags {
  /** Accept grant flags that widen the run's stored grants. */
  grant?: boolean;
  upgrade?: string;
  wait?: boolean;
  json?: boolean;
  quiet?: boolean;
  suspendAfter?: string;
}

/** `dwe resume RUN`: replays the run's journal and continues it live (`Dwe.resume`), printing as `dwe run` does. */
export async function resumeCommand(runId: string, flags: ResumeFlags): Promise<number> {
  const suspendAfterMs = flags.suspendAfter === undefined ? undefined : parsePositiveInt(flags.suspendAfter, "--suspend-after");
  const upgrade = readUpgrade(flags.upgrade);
  const grants = grantSpec(flags);
  const dwe = await openDwe(flags, false);
  try {
    return await executeAndReport(runId, flags, (e, say) =>
      dwe.resume(runId, {
        ...e,
        ...(upgrade && { upgrade }),
        ...(grants && { grants }),
        ...(flags.grant && { widenGrants: true }),
        wait: flags.wait !== false,
        ...(suspendAfterMs !== undefined && { suspendAfterMs }),
        onWait: (w) => say(waitLine(runId, w)),
        ...(flags.debug && { onDebug: (line: string) => say(line + "\n") }),
      }),
    );
  } catch (err) {
    if (!(err instanceof RunNotDue)) throw err;
    process.stderr.write(`dwe: ${err.message}\n`);
    return EXIT.suspended;
  } finally {
    await dwe.close();
  }
}

/** The module of `--upgrade FILE`, read now (a bad path is a usage error before anything is opened). */
export function readUpgrade(file: string | undefined): { bytes: Uint8Array; name: string } | undefined {
  if (file === undefined) return undefined;
  try {
    return { bytes: new Uint8Array(readFileSync(file)), name: file };
  } catch (err) {
    throw new UsageError(`cannot read --upgrade module '${file}': ${(err as Error).message}`);
  }
}

/** The grant flags given, as the API's spec (none given: the stored grants are used). */
export function grantSpec(flags: GrantFlags): GrantSpec | undefined {
  const given =
    flags.dir !== undefined ||
    flags.allowNet !== undefined ||
    flags.allowEnvOverride !== undefined ||
    (flags.allowShell !== undefined && flags.allowShell !== false);
  if (!given) return undefined;
  return { dirs: flags.dir, net: flags.allowNet, shell: flags.allowShell, envOverride: flags.allowEnvOverride };
}

function waitLine(runId: string, w: ResumeWait): string {
  if (w.for === "lease")
    return `dwe: run ${runId} is being executed by ${w.holder}; waiting for that lease to end (Ctrl-C stops waiting)\n`;
  return `dwe: run ${runId} ${w.what} until ${new Date(w.until).toISOString()}; waiting here (Ctrl-C leaves it suspended)\n`;
}
