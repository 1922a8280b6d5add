import { ShutdownRequested } from "../../kernel/errors.js";
import type { ExecuteOptions, LogLine, RunInfo } from "../../api/types.js";
import { EXIT } from "./context.js";
import { bytesAsText, runJson } from "./format.js";
import { terminalFor, type Terminal } from "./status-line.js";

/** How `dwe run` and `dwe resume` print: `--json` (only the run's JSON on stdout), `--quiet` (no guest output). */
export interface Printing {
  json?: boolean;
  quiet?: boolean;
}

/** What the CLI hands the API's execute or resume: its Ctrl-C, its printing, its status line's figures. */
export type Execution = Pick<ExecuteOptions, "signal" | "onLogs" | "onLive" | "onChildError" | "progress">;

/**
 * Prints committed guest output once, as it is committed: a WASI program's stdout to dwe's stdout
 * and its stderr to dwe's stderr, byte for byte as written (like wasmtime), and `log` lines to
 * stderr, prefixed by their level unless info. With `json`, stdout carries only the run's JSON, so
 * the program's stdout goes to stderr too. A command's output that was shown live as it ran
 * (stream `exec`, see livePrinter) is not printed again.
 */
export function logPrinter(json: boolean, out: Terminal): (logs: readonly LogLine[]) => void {
  return (logs) => {
    for (const l of logs) {
      if (l.stream === "exec") continue;
      if (l.stream === "stdout" || l.stream === "stderr") {
        const bytes = l.data ?? Buffer.from(l.message);
        out.write(l.stream === "stdout" && !json ? "stdout" : "stderr", bytes);
      } else out.write("stderr", (l.level === "info" ? "" : `${l.level}: `) + l.message + (l.message.endsWith("\n") ? "" : "\n"));
    }
  };
}

/**
 * Prints a command's output as it runs (exec with `live`, as the pipeline workflow's steps do):
 * its stdout to dwe's stdout and its stderr to dwe's stderr; with `json`, both to stderr.
 */
export function livePrinter(json: boolean, out: Terminal): (stream: "stdout" | "stderr", data: Uint8Array) => void {
  return (stream, data) => out.write(stream === "stdout" && !json ? "stdout" : "stderr", data);
}

/**
 * Executes a run in this process through `execute` (the API's `execute`, or `resume`), printing its
 * guest output as it is committed (on a terminal, under a status line: status-line.ts), and reports
 * how it ended; returns the exit code. `execute` prints its own lines with `say`. Ctrl-C or
 * SIGTERM stops the run at its next host call (it stays resumable) and then says what became of it
 * (exit 130 or 143); a second one exits at once.
 */
export async function executeAndReport(
  runId: string,
  opts: Printing,
  execute: (e: Execution, say: (line: string) => void) => Promise<RunInfo>,
): Promise<number> {
  const abort = new AbortController();
  const { terminal, progress } = terminalFor(runId, !opts.json && !opts.quiet);
  const say = (line: string) => terminal.write("stderr", line);
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stoppedBy !== null) {
      terminal.close();
      process.stderr.write(
        `dwe: ${sig} again: exiting now; run ${runId} stays resumable (\`dwe resume ${runId}\`, or \`dwe cancel ${runId}\` to stop it for good)\n`,
      );
      process.exit(signalExit(sig));
    }
    stoppedBy = sig;
    say(`dwe: ${sig}: stopping run ${runId} at its next host call (${sig === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again exits at once)\n`);
    abort.abort(new ShutdownRequested(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let run: RunInfo;
  try {
    run = await execute(
      {
        signal: abort.signal,
        ...(!opts.quiet && { onLogs: logPrinter(opts.json ?? false, terminal), onLive: livePrinter(opts.json ?? false, terminal) }),
        onChildError: (id, message) => say(`dwe: child run ${id} could not be executed here: ${message}\n`),
        ...(progress && { progress }),
      },
      say,
    );
  } finally {
    terminal.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (stoppedBy !== null) return reportStopped(run, stoppedBy, opts.json ?? false);
  return report(run, opts.json ?? false);
}

/** 128 + the signal's number, as a shell reports a process ended by it. */
const signalExit = (sig: NodeJS.Signals): number => (sig === "SIGINT" ? 130 : 143);

/**
 * After Ctrl-C or SIGTERM: what became of the run (it may also have ended meanwhile) and how to
 * continue it or stop it for good; exit 130 (SIGINT) or 143 (SIGTERM) unless it ended.
 */
function reportStopped(run: RunInfo, sig: NodeJS.Signals, json: boolean): number {
  if (run.status !== "pending" && run.status !== "suspended") return report(run, json);
  if (json) process.stdout.write(JSON.stringify(runJson(run)) + "\n");
  const state =
    run.status === "suspended"
      ? `suspended until ${run.wakeAt === null ? "a signal or a child run" : new Date(run.wakeAt).toISOString()}: \`dwe worker\` continues it then`
      : `left ${run.status}: \`dwe worker\` will continue it`;
  process.stderr.write(`dwe: run ${run.id} ${state}, or \`dwe resume ${run.id}\`; to stop it for good: \`dwe cancel ${run.id}\`\n`);
  return signalExit(sig);
}

export function report(run: RunInfo, json: boolean): number {
  if (json) process.stdout.write(JSON.stringify(runJson(run)) + "\n");
  switch (run.status) {
    case "completed":
      if (!json && run.output !== null) {
        const text = bytesAsText(run.output);
        process.stdout.write(text.endsWith("\n") ? text : text + "\n");
      }
      return EXIT.ok;
    case "failed":
      // A WASI program that exited with a code: dwe exits with it and adds nothing (as wasmtime).
      // `--json` (status, error.code "exit", error.exit_code) tells it from dwe's own outcomes.
      // A code the OS would truncate to 0 (256, -1…) is 1: a failure never looks like success.
      if (run.error?.exitCode !== undefined) return run.error.exitCode & 0xff || EXIT.runFailed;
      process.stderr.write(`dwe: run ${run.id} failed: ${run.error?.code ?? "error"}: ${run.error?.message ?? "unknown error"}\n`);
      return EXIT.runFailed;
    case "cancelled":
      process.stderr.write(`dwe: run ${run.id} was ${run.error?.code === "terminated" ? "terminated" : "cancelled"}\n`);
      return EXIT.cancelled;
    case "suspended":
      // Waiting on a signal or a child, a resume would only wait again: say what moves it on.
      process.stderr.write(
        run.wakeAt === null
          ? `dwe: run ${run.id} is suspended until a signal or a child run; \`dwe show ${run.id}\` says which, ` +
              `\`dwe signal ${run.id} NAME\` sends a signal, and \`dwe worker\` (or \`dwe resume ${run.id}\`) continues it then\n`
          : `dwe: run ${run.id} is suspended until ${new Date(run.wakeAt).toISOString()}; ` +
              `continue it with \`dwe resume ${run.id}\` (or let \`dwe worker\` do it)\n`,
      );
      return EXIT.suspended;
    default:
      process.stderr.write(`dwe: run ${run.id} stopped (${run.status}); continue it with \`dwe resume ${run.id}\`\n`);
      return EXIT.suspended;
  }
}
