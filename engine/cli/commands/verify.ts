import { Worker } from "node:worker_threads";
import { DweError, RunNotFound } from "../../errors.js";
import { timedOutReport, type VerifyReport } from "../../executor/verify-run.js";
import type { VerifyThreadData } from "../../executor/verify-thread.js";
import { EXIT, type GlobalOptions, dbPath, openStore, parseDurability } from "../context.js";
import { parsePositiveInt } from "../options.js";

export interface VerifyFlags extends GlobalOptions {
  json?: boolean;
  timeout?: string;
}

/** Default time a verification replay may take when the run has no --timeout of its own. */
export const DEFAULT_VERIFY_TIMEOUT_MS = 60_000;

class VerifyError extends DweError {
  override readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number) {
    super(code, message);
    this.exitCode = exitCode;
  }
}

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
    const progress = new SharedArrayBuffer(8);
    const data: VerifyThreadData = {
      db: dbPath(flags),
      durability: parseDurability(flags.durability),
      runId,
      progress,
      debug: flags.debug ?? false,
    };
    const worker = new Worker(new URL("../../executor/verify-thread.js", import.meta.url), { workerData: data });
    let timer: NodeJS.Timeout | undefined;
    report = await new Promise<VerifyReport>((resolve, reject) => {
      const startWatchdog = () =>
        (timer = setTimeout(() => {
          void worker.terminate().then(async () => {
            const p = new Int32Array(progress);
            const entries = (await store.summarizeJournal(run.rid)).entries;
            resolve(timedOutReport(run, entries, Atomics.load(p, 0), Atomics.load(p, 1) === 1, timeoutMs));
          }, reject);
        }, timeoutMs));
      worker.on(
        "message",
        (
          m:
            | { type: "started" }
            | { type: "report"; report: VerifyReport }
            | { type: "error"; error: { code: string; message: string }; exitCode: number }
            | { type: "debug"; line: string },
        ) => {
          // The timeout counts from the start of the replay, not the loading of the module and journal.
          if (m.type === "started") startWatchdog();
          else if (m.type === "debug") process.stderr.write(m.line + "\n");
          else if (m.type === "report") resolve(m.report);
          else reject(new VerifyError(m.error.code, m.error.message, m.exitCode));
        },
      );
      worker.on("error", reject);
    }).finally(() => clearTimeout(timer));
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
