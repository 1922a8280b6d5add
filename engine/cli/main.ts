import { Command, CommanderError, Option } from "commander";
import { DweError, describeError } from "../kernel/errors.js";
import { EXIT } from "./commands/context.js";
import { collect } from "./commands/options.js";
import { placeAllowShell } from "./commands/argv.js";
import { HELP_CODES, commanderMessage, ignoreClosedStdout, reportError, wantsJson } from "./commands/report.js";

type Handler = (...args: never[]) => Promise<number>;

/** A command handler whose module is loaded only when the command runs: startup loads one command's code. */
function lazy<F extends Handler>(load: () => Promise<F>): F {
  return (async (...args: never[]) => (await load())(...args)) as F;
}

const runCommand = lazy(() => import("./commands/run.js").then((m) => m.runCommand));
const resumeCommand = lazy(() => import("./commands/resume.js").then((m) => m.resumeCommand));
const retryCommand = lazy(() => import("./commands/retry.js").then((m) => m.retryCommand));
const verifyCommand = lazy(() => import("./commands/verify.js").then((m) => m.verifyCommand));
const logsCommand = lazy(() => import("./commands/show.js").then((m) => m.logsCommand));
const runsCommand = lazy(() => import("./commands/runs.js").then((m) => m.runsCommand));
const showCommand = lazy(() => import("./commands/show.js").then((m) => m.showCommand));
const journalCommand = lazy(() => import("./commands/journal.js").then((m) => m.journalCommand));
const pipelineCommand = lazy(() => import("./commands/pipeline.js").then((m) => m.pipelineCommand));
const workerCommand = lazy(() => import("./commands/worker.js").then((m) => m.workerCommand));
const serverCommand = lazy(() => import("./commands/server.js").then((m) => m.serverCommand));
const exportCommand = lazy(() => import("./commands/portable.js").then((m) => m.exportCommand));
const importCommand = lazy(() => import("./commands/portable.js").then((m) => m.importCommand));
const signalCommand = lazy(() => import("./commands/signal.js").then((m) => m.signalCommand));
const initCommand = lazy(() => import("./commands/init.js").then((m) => m.initCommand));
const cancelCommand = lazy(() => import("./commands/cancel.js").then((m) => m.cancelCommand));
const terminateCommand = lazy(() => import("./commands/terminate.js").then((m) => m.terminateCommand));
const forkCommand = lazy(() => import("./commands/fork.js").then((m) => m.forkCommand));
const purgeCommand = lazy(() => import("./commands/retention.js").then((m) => m.purgeCommand));
const deleteCommand = lazy(() => import("./commands/retention.js").then((m) => m.deleteCommand));
const scheduleAddCommand = lazy(() => import("./commands/schedule.js").then((m) => m.scheduleAddCommand));
const scheduleListCommand = lazy(() => import("./commands/schedule.js").then((m) => m.scheduleListCommand));
const scheduleRemoveCommand = lazy(() => import("./commands/schedule.js").then((m) => m.scheduleRemoveCommand));
const schedulePauseCommand = lazy(() => import("./commands/schedule.js").then((m) => m.schedulePauseCommand));
const scheduleResumeCommand = lazy(() => import("./commands/schedule.js").then((m) => m.scheduleResumeCommand));
const scheduleUpdateCommand = lazy(() => import("./commands/schedule.js").then((m) => m.scheduleUpdateCommand));

/** Wraps a command handler: one line per error, the stack only with --debug, then the exit code. */
function action(handler: Handler) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.optsWithGlobals<{ debug?: boolean; json?: boolean }>();
    try {
      process.exitCode = await (handler as (...a: unknown[]) => Promise<number>)(...args.slice(0, -2), opts);
    } catch (err) {
      if (opts.debug && err instanceof Error) process.stderr.write(`${err.stack ?? err.message}\n`);
      const { code, message } = describeError(err);
      reportError(code, message, opts.json === true);
      process.exitCode = err instanceof DweError ? err.exitCode : EXIT.error;
    }
  };
}

const program = new Command("dwe")
  .description("durable execution of WebAssembly workflows: every host call journaled, every crash replayed")
  .version("0.1.0")
  .option("--db <path>", "database file or postgres:// URL (default: $DWE_DB or .dwe/dwe.db)")
  .addOption(new Option("--durability <mode>", "process: survive process crashes (default); fsync: survive power loss"))
  .option("--debug", "print stack traces")
  // Commander's own errors (a missing argument, an unknown flag) are printed as dwe's, in one line, below.
  .configureOutput({ outputError: () => undefined })
  .exitOverride();

const childLimitOptions = (cmd: Command) =>
  cmd
    .option("--max-children <n>", "child runs each run of the tree may start (default 256)")
    .option("--max-descendants <n>", "child runs the whole tree may hold (default 4096)")
    .option("--max-depth <n>", "how deep the tree of child runs may grow (default 16)");

const grantOptions = (cmd: Command) =>
  cmd
    .option("--dir <HOST[:GUEST][:ro]>", "grant a host directory to the guest (repeatable)", collect)
    .option("--allow-net <hosts>", "grant HTTP to HOST[:PORT],… (repeatable)", collect)
    .option(
      "--allow-shell [programs]",
      "grant exec: any program, or only the listed ones (comma-separated, fixed to their PATH entry now; --allow-shell=LIST anywhere)",
    )
    .option(
      "--allow-env-override <names>",
      "let exec's env set these protected variables, e.g. PATH,LD_LIBRARY_PATH (repeatable)",
      collect,
    );

const runCmd = grantOptions(
  program
    .command("run")
    .description("run a workflow module; prints its output")
    .argument("<module>", "workflow .wasm file")
    .argument("[args...]", "WASI arguments, after --")
    .option("--id <id>", "run id (default: random)")
    .option("--name <name>", "what the run is called in `dwe runs` (default: the module's file name)")
    .option("--input <json|@file|->", "run input: text, @FILE, or - for stdin")
    .option("--env <NAME=VALUE>", "WASI environment variable (repeatable)", collect)
    .option("--entry <export>", "exported function to run (default: run, else _start)")
    .option("--timeout <ms>", "stop the run after this much active time")
    .option("--max-memory <size>", "guest memory limit, e.g. 64M (default 256M)")
    .option("--max-journal-entries <n>", "fail the run when its journal would hold more entries (default 1000000)")
    .option("--max-journal-bytes <size>", "fail the run when its journal payloads would take more, e.g. 256M (default 1G)")
    .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
    .option("--detach", "create the run, print its id and return (a worker executes it)")
    .option("--json", "print the final run as JSON (with --detach: the created run)")
    .option("--quiet", "do not print guest logs"),
);
childLimitOptions(runCmd).action(action(runCommand));

const startCmd = grantOptions(
  program
    .command("start")
    .description("create a run for a worker to execute; prints its id (same as `run --detach`)")
    .argument("<module>", "workflow .wasm file")
    .argument("[args...]", "WASI arguments, after --")
    .option("--id <id>", "run id (default: random)")
    .option("--name <name>", "what the run is called in `dwe runs` (default: the module's file name)")
    .option("--input <json|@file|->", "run input: text, @FILE, or - for stdin")
    .option("--env <NAME=VALUE>", "WASI environment variable (repeatable)", collect)
    .option("--entry <export>", "exported function to run (default: run, else _start)")
    .option("--timeout <ms>", "stop the run after this much active time")
    .option("--max-memory <size>", "guest memory limit, e.g. 64M (default 256M)")
    .option("--max-journal-entries <n>", "fail the run when its journal would hold more entries (default 1000000)")
    .option("--max-journal-bytes <size>", "fail the run when its journal payloads would take more, e.g. 256M (default 1G)")
    .option("--json", "print the created run as JSON (as `dwe show --json`)"),
);
childLimitOptions(startCmd).action(
  action((module: string, args: string[], flags: Record<string, unknown>) => runCommand(module, args, { ...flags, detach: true })),
);

grantOptions(
  program
    .command("pipeline")
    .description("run a YAML pipeline (jobs of shell steps, docs/pipelines.md); checks the file before anything is written")
    .argument("<file>", "pipeline .yaml file")
    .option("--id <id>", "run id (default: random)")
    .option("--name <name>", "what the run is called in `dwe runs` (default: the pipeline file's name)")
    .option("--input <json|@file|->", "the pipeline's inputs, a JSON object")
    .option("--env <NAME=VALUE>", "environment variable for every step (repeatable)", collect)
    .option("--timeout <ms>", "stop each run (the pipeline and each job) after this much active time")
    .option("--max-memory <size>", "guest memory limit, e.g. 64M (default 256M)")
    .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
    .option("--detach", "create the run, print its id and return (a worker executes it)")
    .option("--json", "print the final run as JSON")
    .option("--quiet", "do not print step output"),
).action(action(pipelineCommand));

program
  .command("worker")
  .description("execute runs: pending, due, orphaned (expired lease); fire schedules; stop cleanly on SIGTERM/SIGINT")
  .option("--concurrency <n>", "runs executing at once (default 100, or $DWE_CONCURRENCY)")
  .option("--threads <n>", "executor threads (default min(4, CPUs), or $DWE_THREADS)")
  .option("--lease-ttl <ms>", "lease time-to-live; a dead worker's runs are taken over after it (default 30000, or $DWE_LEASE_TTL_MS)")
  .option("--poll <ms>", "how often to look for due runs (default 250, or $DWE_POLL_MS)")
  .option("--watchdog <ms>", "stop guest code running this long without a host call (default 60000, or $DWE_WATCHDOG_MS)")
  .option("--grace <ms>", "on SIGTERM, time runs get to reach their next host call (default 10000, or $DWE_SHUTDOWN_GRACE_MS)")
  .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
  .option("--max-crashes <n>", "fail a run after this many attempts in a row crash outside guest code (default 5, or $DWE_MAX_CRASHES)")
  .option("--retention <age>", "delete final runs this long after they ended, e.g. 30d (checked every minute; default: keep them)")
  .option("--quiet", "do not log run outcomes")
  .option(
    "--metrics <host:port>",
    "serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464; port 0: a free one; beyond loopback --metrics-token is required)",
  )
  .option("--metrics-token <token>", "bearer token a scrape of --metrics must carry (default $DWE_METRICS_TOKEN; at least 16 characters)")
  .action(action(workerCommand));

program
  .command("server")
  .description("serve the JSON HTTP API (docs/http-api.md) until SIGTERM/SIGINT; prints its URL")
  .option("--listen <host:port>", "address to listen on; beyond loopback a token is required (default 127.0.0.1:7070; port 0: a free one)")
  .option("--token <token>", "bearer token every request must carry (default $DWE_TOKEN; at least 16 characters)")
  .option("--max-body <size>", "largest request body, e.g. 16M (default 64M)")
  .option("--metrics", "also serve Prometheus metrics at /metrics (behind the same token)")
  .action(action(serverCommand));

program
  .command("signal")
  .description("send a signal to a run; kept until the run waits for it (signal.wait); prints its id")
  .argument("<run>", "run id")
  .argument("<name>", "signal name")
  .option("--data <json>", "JSON data delivered with the signal")
  .option("--json", "print the signal's id, run and name as JSON")
  .action(action(signalCommand));

program
  .command("cancel")
  .description("cancel a run and its children: at once if idle, else at their next host call or wait")
  .argument("<run>", "run id")
  .option("--json", "as JSON")
  .action(action(cancelCommand));

program
  .command("terminate")
  .description("end a run and its children now, even one whose guest loops without calling the host (status cancelled, reason terminated)")
  .argument("<run>", "run id")
  .option("--json", "as JSON")
  .action(action(terminateCommand));

program
  .command("fork")
  .description("start a new run from a copy of a run's first journal entries: it replays them and goes on live")
  .argument("<run>", "the run to fork")
  .option("--at <seq>", "copy entries 1..SEQ (default: all that are complete)")
  .option("--id <id>", "the new run's id (default: a new one)")
  .option("--detach", "create the new run, print its id and return (a worker executes it)")
  .option("--json", "print the run as JSON when it ends (with --detach: at once)")
  .option("--quiet", "do not print the run's id and outcome on stderr")
  .action(action(forkCommand));

program
  .command("purge")
  .description("delete final runs for good, with their journals, logs and signals (never a run that is not final)")
  .option("--status <list>", "statuses to delete, comma-separated (default completed,failed,cancelled)")
  .option("--older-than <age>", "only runs that ended at least this long ago, e.g. 30d, 12h (default: any age)")
  .option("--dry-run", "list the runs that would be deleted; delete nothing")
  .option("--json", "as JSON: {runs, dryRun}")
  .action(action(purgeCommand));

program
  .command("delete")
  .description("delete one completed, failed or cancelled run for good, with its journal, logs and signals")
  .argument("<run>", "run id")
  .option("--json", "as JSON")
  .action(action(deleteCommand));

const schedule = program.command("schedule").description("runs started by workers on a cron schedule (UTC, or --tz)");
grantOptions(
  schedule
    .command("add")
    .description("add a schedule: each tick a worker starts one run of the module")
    .argument("<name>", "schedule name (runs are named NAME.TICK-MS)")
    .argument("<module>", "workflow .wasm file")
    .requiredOption("--cron <expr>", "5 fields: minute hour day-of-month month day-of-week, e.g. '*/5 * * * *', or @daily, @hourly …")
    .option("--tz <zone>", "read the expression in this IANA time zone, e.g. Europe/Paris (default UTC)")
    .option("--input <json|@file|->", "run input: text, @FILE, or - for stdin")
    .option("--entry <export>", "exported function to run (default: run, else _start)")
    .option("--timeout <ms>", "stop each run after this much active time")
    .option("--max-memory <size>", "guest memory limit, e.g. 64M (default 256M)")
    .option("--json", "print the schedule's name, cron and first tick as JSON"),
).action(action(scheduleAddCommand));
schedule
  .command("list")
  .description("list schedules with their next and last tick")
  .option("--json", "as JSON")
  .action(action(scheduleListCommand));
schedule
  .command("remove")
  .description("remove a schedule (runs it started are kept)")
  .argument("<name>", "schedule name")
  .option("--json", "as JSON")
  .action(action(scheduleRemoveCommand));
schedule
  .command("pause")
  .description("pause a schedule: no run is started until it is resumed")
  .argument("<name>", "schedule name")
  .option("--json", "print the schedule as JSON")
  .action(action(schedulePauseCommand));
schedule
  .command("resume")
  .description("resume a paused schedule from its next tick after now (ticks missed while paused are not fired)")
  .argument("<name>", "schedule name")
  .option("--json", "print the schedule as JSON")
  .action(action(scheduleResumeCommand));
schedule
  .command("update")
  .description("change a schedule's cron expression, time zone or input; its next tick is computed anew from now")
  .argument("<name>", "schedule name")
  .option("--cron <expr>", "a new cron expression")
  .option("--tz <zone>", "a new IANA time zone (UTC for UTC)")
  .option("--input <json|@file|->", "a new input for its runs")
  .option("--json", "print the schedule as JSON")
  .action(action(scheduleUpdateCommand));

grantOptions(
  program
    .command("resume")
    .description("continue a run from its journal (with its stored grants, unless grant flags are given)")
    .argument("<run>", "run id"),
)
  .option("--grant", "accept grant flags that widen the run's stored grants")
  .option("--upgrade <module>", "continue on a new module if the journal replays cleanly on it")
  .option("--no-wait", "do not wait for a suspended run's wake time or for another process's lease on the run")
  .option("--suspend-after <ms>", "sleeps longer than this suspend the run (default 10000)")
  .option("--json", "print the final run as JSON")
  .option("--quiet", "do not print guest logs")
  .action(action(resumeCommand));

grantOptions(
  program
    .command("retry")
    .description("continue a failed run from its journal: cut where it failed (or at --from), so that call is made again live")
    .argument("<run>", "run id"),
)
  .option("--from <seq>", "cut the journal from this seq on (default: from the last entry that recorded an error)")
  .option("--grant", "accept grant flags that widen the run's stored grants")
  .option("--upgrade <module>", "continue on a new module if the kept part of the journal replays cleanly on it")
  .option("--detach", "cut the journal, print the run's id and return (a worker continues it)")
  .option("--json", "print the final run as JSON (with --detach: at once)")
  .option("--quiet", "do not print guest logs")
  .action(action(retryCommand));

program
  .command("verify")
  .description("replay a run against its journal without side effects: is it intact and deterministic? (exit 0 yes, 1 no)")
  .argument("<run>", "run id")
  .option("--json", "print the report as JSON")
  .option("--timeout <ms>", "stop a replay that takes longer (default: the run's --timeout, else 60000)")
  .action(action(verifyCommand));

program
  .command("export")
  .description("write a run (module, journal, grants, state) to one portable file, for `dwe import` elsewhere")
  .argument("<run>", "run id")
  .option("-o, --output <file>", "write to FILE instead of stdout")
  .action(action(exportCommand));

program
  .command("import")
  .description("bring in a run written by `dwe export` (then `dwe resume` it); refuses an existing run id or a damaged file")
  .argument("<file>", "run file, or - for stdin")
  .option("--json", "print the imported run's id and status as JSON")
  .option("--grant", "give the run the grants its file carries (without it they are held back: the run has none)")
  .action(action(importCommand));

program
  .command("show")
  .description("show a run: status, input, output, error, grants, journal summary")
  .argument("<run>", "run id")
  .option("--json", "as JSON")
  .action(action(showCommand));

program
  .command("journal")
  .description("print a run's journal entry by entry: op, state, duration, request and response, attempts and crash points")
  .argument("<run>", "run id")
  .option("--json", "as one JSON document (with --follow: JSON lines, one event each)")
  .option("--from <seq>", "start at this journal entry")
  .option("--follow", "then print new entries and attempts as they are written, until the run ends")
  .option("--full", "requests and responses in full (default: shortened)")
  .action(action(journalCommand));

program
  .command("logs")
  .description("print what a run logged, once each, in order")
  .argument("<run>", "run id")
  .option("--json", "as JSON lines")
  .option("--timestamps", "prefix each line with its time and level")
  .option("--follow", "then print new lines as they are logged, across attempts and workers, until the run and its children end")
  .option("--all", "also the lines a retry cut (marked '[cut by retry N]'), in the order they were logged")
  .action(action(logsCommand));

program
  .command("init")
  .description("create a workflow project in DIR (new or empty) that builds with one command")
  .argument("<dir>", "directory of the new project")
  .option("--lang <lang>", "assemblyscript (default) or rust")
  .option("--json", "print what was created as JSON")
  .action(action(initCommand));

program
  .command("runs")
  .description("list runs, newest first (one page; says when more exist)")
  .option("--status <statuses>", "only runs with this status (comma-separated for several)")
  .option("--module <sha256>", "only runs of this module (its sha256, or a prefix)")
  .option("--name <name>", "only runs of this name (the module's file name, or the run's --name)")
  .option("--entry <export>", "only runs of this entry point")
  .option("--parent <run>", "only the child runs of this run (in the order they were started)")
  .option("--created-after <time>", "created at or after: a date (2026-12-01T09:00:00Z) or a duration ago (30m, 2h, 7d)")
  .option("--created-before <time>", "created before this time")
  .option("--finished-after <time>", "finished at or after this time")
  .option("--finished-before <time>", "finished before this time")
  .option("--after <run>", "the next page: the runs after this one (the last of the previous page)")
  .option("--limit <n>", "at most this many (default 100)")
  .option("--json", "as JSON")
  .action(action(runsCommand));

/** Parses the command line and runs the verb; no top-level await, so the CLI bundles as a script too. */
async function main(): Promise<void> {
  try {
    await program.parseAsync(placeAllowShell(process.argv));
  } catch (err) {
    const json = wantsJson(process.argv.slice(2));
    if (err instanceof CommanderError) {
      if (err.exitCode !== 0 && !HELP_CODES.has(err.code)) reportError("usage", commanderMessage(program, err), json);
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.error;
    } else {
      reportError(describeError(err).code, describeError(err).message, json);
      process.exitCode = EXIT.error;
    }
  }
  // Keep-alive sockets and timers must not hold the process open once the command is done.
  const code = typeof process.exitCode === "number" ? process.exitCode : 0;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

ignoreClosedStdout();
void main();
