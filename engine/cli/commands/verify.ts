import { EXIT, type GlobalOptions, openDwe } from "./context.js";
import { parsePositiveInt } from "./options.js";

export interface VerifyFlags extends GlobalOptions {
  json?: boolean;
  timeout?: string;
}

/**
 * `dwe verify RUN [--json] [--timeout MS]`: replays the run against its journal without side
 * effects and reports whether the journal is intact and the code deterministic (`Dwe.verify`).
 * Exit 0 when both hold, 1 otherwise, 2 for bad input. Writes nothing.
 */
export async function verifyCommand(runId: string, flags: VerifyFlags): Promise<number> {
  const timeoutMs = flags.timeout === undefined ? undefined : parsePositiveInt(flags.timeout, "--timeout");
  const dwe = await openDwe(flags, false);
  let report;
  try {
    report = await dwe.verify(runId, {
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(flags.debug && { onDebug: (line: string) => process.stderr.write(line + "\n") }),
    });
  } finally {
    await dwe.close();
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
