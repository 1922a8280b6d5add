import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { InvalidModule, RunNotFound, RunStateError, UsageError } from "../../errors.js";
import { inspectModule } from "../../runtime/module-loader.js";
import { isTerminal } from "../../store/types.js";
import { EXIT, type GlobalOptions, openStore } from "../context.js";
import { parsePositiveInt } from "../options.js";
import { executeAndReport } from "./execute.js";

export interface ResumeFlags extends GlobalOptions {
  upgrade?: string;
  wait?: boolean;
  json?: boolean;
  quiet?: boolean;
  suspendAfter?: string;
}

/** `dwe resume RUN`: replays the run's journal and continues it live. */
export async function resumeCommand(runId: string, flags: ResumeFlags): Promise<number> {
  const suspendAfterMs = flags.suspendAfter === undefined ? undefined : parsePositiveInt(flags.suspendAfter, "--suspend-after");
  let upgrade: { bytes: Uint8Array; path: string } | undefined;
  if (flags.upgrade !== undefined) {
    try {
      upgrade = { bytes: new Uint8Array(readFileSync(flags.upgrade)), path: flags.upgrade };
    } catch (err) {
      throw new UsageError(`cannot read --upgrade module '${flags.upgrade}': ${(err as Error).message}`);
    }
  }
  const store = openStore(flags, false);
  try {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    if (isTerminal(run.status)) throw new RunStateError(`run ${runId} is ${run.status}; there is nothing to resume (see \`dwe show ${runId}\`)`);
    let upgradeTo: string | undefined;
    if (upgrade) {
      const info = inspectModule(upgrade.bytes, upgrade.path);
      if (!info.exports.includes(run.entry)) throw new InvalidModule(`${upgrade.path} has no exported function '${run.entry}', the entry of run ${runId}`);
      await store.putModule(info.sha256, info.kind, upgrade.bytes);
      upgradeTo = info.sha256;
    }
    if (run.status === "suspended" && run.wakeAt !== null && run.wakeAt > Date.now()) {
      const due = new Date(run.wakeAt).toISOString();
      if (flags.wait === false) {
        process.stderr.write(`dwe: run ${runId} sleeps until ${due}; resume it after that (or without --no-wait to wait here)\n`);
        return EXIT.suspended;
      }
      process.stderr.write(`dwe: run ${runId} sleeps until ${due}; waiting here (Ctrl-C leaves it suspended)\n`);
      await delay(run.wakeAt - Date.now());
    }
    return await executeAndReport(store, runId, {
      json: flags.json ?? false,
      quiet: flags.quiet ?? false,
      ...(upgradeTo !== undefined && { upgradeTo }),
      ...(suspendAfterMs !== undefined && { suspendAfterMs }),
    });
  } finally {
    await store.close();
  }
}
