import { RunNotFound } from "../../kernel/errors.js";
import type { VerifyReport } from "../../executor/verify-run.js";
import { verifyInThread } from "../../executor/verify-in-thread.js";
import { EXIT, type GlobalOptions, dbPath, openStore, parseDurability } from "../context.js";
import { parsePositiveInt } from "../options.js";

export interface VerifyFlags extends GlobalOptions {
  json?: boolean;
  timeout?: string;
}

/** Default time a verification replay may take when the run has no --timeout of its own. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 60_000;

/**
 * `dwe verify RUN [--json] [--timeout MS]`: replays the run against its journal without side
 * effects and reports whether the journal is intact and the code deterministic. Exit 0 when both
 * hold, 1 otherwise, 2 for bad input. Writes nothing. The replay runs in a thread that is stopped
 * after the timeout (default: the run's --timeout, else 60 s).
 */
export async function verifyCommand(runId: string, flags: VerifyFlags): Promise<number> {
  const flagTimeout = flags.timeout === undefined ? undefined : parsePositiveInt(flags.timeout, "--timeout");
  const store = openStore(flags, false);
  let report: VerifyReport;
  try {
    const run = await store.getRun(runId);
    if (!run) throw new RunNotFound(runId);
    const timeoutMs = flagTimeout ?? run.config.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
    report = await verifyInThread(store, run, {
      db: dbPath(flags),
      durability: parseDurability(flags.durability),
      debug: flags.debug ?? false,
      timeoutMs,
    });
  } finally {
    await store.close();
  }
  const ok = report.intact && report.deterministic;
  if (flags.json) process.stdout.write(JSON.stringify(report) + "\n");
  else if (ok) process.stdout.write(`run ${report.run}: intact and deterministic: ${report.message}\n`);
  else
    process.stderr.write(
      `dwe: run ${report.run} failed verification (${!report.intact ? "journal damaged" : "not deterministic"}): ${report.message}\n`,
    );
  return ok ? EXIT.ok : EXIT.runFailed;
}
