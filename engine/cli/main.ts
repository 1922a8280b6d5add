import { Command, CommanderError, Option } from "commander";
import { DweError, describeError } from "../errors.js";
import { EXIT } from "./context.js";
import { collect } from "./options.js";
import { runCommand } from "./commands/run.js";
import { resumeCommand } from "./commands/resume.js";
import { logsCommand, runsCommand, showCommand } from "./commands/show.js";

type Handler = (...args: never[]) => Promise<number>;

/** Wraps a command handler: one line per error, the stack only with --debug, then the exit code. */
function action(handler: Handler) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals<{ debug?: boolean }>();
    try {
      process.exitCode = await (handler as (...a: unknown[]) => Promise<number>)(...args.slice(0, -2), opts);
    } catch (err) {
      if (opts.debug && err instanceof Error) process.stderr.write(`${err.stack ?? err.message}\n`);
      const { message } = describeError(err);
      process.stderr.write(`dwe: error: ${message}\n`);
      process.exitCode = err instanceof DweError ? err.exitCode : EXIT.error;
    }
  };
}

const program = new Command("dwe")
  .description("durable execution of WebAssembly workflows: every host call journaled, every crash replayed")
  .version("0.1.0")
  .option("--db <path>", "database file (default: $DWE_DB or .dwe/dwe.db)")
  .addOption(new Option("--durability <mode>", "process: survive process crashes (default); fsync: survive power loss"))
  .option("--debug", "print stack traces")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

const grantOptions = (cmd: Command) =>
  cmd
    .option("--dir <HOST[:GUEST][:ro]>", "grant a host directory to the guest (repeatable)", collect)
    .option("--allow-net <hosts>", "grant HTTP to HOST[:PORT],… (repeatable)", collect)
    .option("--allow-shell [programs]", "grant exec: any program, or only the listed ones (comma-separated)");

grantOptions(
  program
    .command("run")
    .description("run a workflow module; prints its output")
    .argument("<module>", "workflow .wasm file")
    .argument("[args...]", "WASI arguments, after --")
    .option("--id <id>", "run id (default: random)")
    .option("--input <json|@file|->", "run input: text, @FILE, or - for stdin")
    .option("--env <NAME=VALUE>", "WASI environment variable (repeatable)", collect)
    .option("--entry <export>", "exported function to run (default: run, else _start)")
    .option("--timeout <ms>", "stop the run after this much active time")
    .option("--max-memory <size>", "guest memory limit, e.g. 64M (default 256M)")
    .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
    .option("--detach", "create the run, print its id and return (a worker executes it)")
    .option("--json", "print the final run as JSON")
    .option("--quiet", "do not print guest logs"),
).action(action(runCommand as Handler));

program
  .command("resume")
  .description("continue a run from its journal")
  .argument("<run>", "run id")
  .option("--upgrade <module>", "continue on a new module if the journal replays cleanly on it")
  .option("--no-wait", "do not wait for a suspended run's wake time")
  .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
  .option("--json", "print the final run as JSON")
  .option("--quiet", "do not print guest logs")
  .action(action(resumeCommand as Handler));

program
  .command("show")
  .description("show a run: status, input, output, error, grants, journal summary")
  .argument("<run>", "run id")
  .option("--json", "as JSON")
  .action(action(showCommand as Handler));

program
  .command("logs")
  .description("print what a run logged, once each, in order")
  .argument("<run>", "run id")
  .option("--json", "as JSON lines")
  .option("--timestamps", "prefix each line with its time and level")
  .action(action(logsCommand as Handler));

program
  .command("runs")
  .description("list runs, newest first")
  .option("--status <status>", "only runs with this status")
  .option("--limit <n>", "at most this many (default 100)")
  .option("--json", "as JSON")
  .action(action(runsCommand as Handler));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.error;
  } else {
    process.stderr.write(`dwe: error: ${describeError(err).message}\n`);
    process.exitCode = EXIT.error;
  }
}
// Keep-alive sockets and timers must not hold the process open once the command is done.
const code = typeof process.exitCode === "number" ? process.exitCode : 0;
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
