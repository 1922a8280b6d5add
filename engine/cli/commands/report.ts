import type { Command, CommanderError } from "commander";
import { allowShellHint } from "./argv.js";

/**
 * One error of a command on stderr: `dwe: error: MESSAGE`, or with `--json` the object
 * `{"error": {"code", "message"}}` on one line (README "Exit codes").
 */
export function reportError(code: string, message: string, json: boolean): void {
  process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `dwe: error: ${message}\n`);
}

/** Whether the command line asks for JSON: `--json` before any `--` (after it, the words are the guest's). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/** Commander's "errors" that are not: help and the version were asked for and shown. */
export const HELP_CODES: ReadonlySet<string> = new Set(["commander.helpDisplayed", "commander.help", "commander.version"]);

/**
 * Commander's own error (a missing argument, an unknown flag or command) as one line that says
 * where the usage is: `missing required argument 'module'; see \`dwe run --help\``.
 */
export function commanderMessage(program: Command, err: CommanderError): string {
  const text = err.message
    .replace(/^error: /, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .join(" ");
  const argv = process.argv.slice(2);
  const hint = err.code === "commander.missingArgument" ? allowShellHint(argv) : "";
  return `${text}${hint}; see \`${["dwe", ...commandPath(program, argv)].join(" ")} --help\``;
}

/** The (sub)command names the words name: `schedule add` of `dwe --db x schedule add …`. */
function commandPath(program: Command, argv: readonly string[]): string[] {
  const path: string[] = [];
  let cmd: Command = program;
  for (const word of argv) {
    if (word === "--") break;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      path.push(sub.name());
      cmd = sub;
    }
  }
  return path;
}

/**
 * A reader that closed our stdout early (`dwe export RUN | head -c 10`, `dwe runs | head`) ends the
 * command quietly, as other Unix tools do, instead of a stack trace for EPIPE.
 */
export function ignoreClosedStdout(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}
