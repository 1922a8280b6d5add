import { ProgramExit } from "../../engine/kernel/errors.js";
import type { P2Env } from "./host.js";
import { p2Interface } from "./interface.js";
import type { IoTypes } from "./io.js";

/**
 * wasi:cli: arguments and environment come from the run's pinned config (argv[0] is the same
 * program name as preview1's), so they need no journal; stdin is the run's input; stdout and
 * stderr are log streams; `exit` ends the run (0: completed, else failed with the code). There is
 * no terminal.
 *
 * `exit(err)` carries no code. A component made from a preview1 program calls it from the
 * adapter's `proc_exit`, which drops the program's code (wasmtime then exits 1); dwe exits with the
 * code the program passed to `proc_exit` when it saw one (env.procExit), else 1.
 */
function cliImports(env: P2Env, io: IoTypes): Record<string, Record<string, unknown>> {
  const none = () => undefined;
  return {
    "wasi:cli/environment": {
      getArguments: () => [...env.args],
      getEnvironment: () => env.env.map(([k, v]) => [k, v]),
      initialCwd: none,
    },
    "wasi:cli/exit": {
      exit: (status: { tag: "ok" | "err" }) => {
        throw new ProgramExit(status.tag === "ok" ? 0 : env.procExit.code || 1);
      },
      exitWithCode: (code: number) => {
        throw new ProgramExit(code);
      },
    },
    "wasi:cli/stdin": { getStdin: () => io.stdin() },
    "wasi:cli/stdout": { getStdout: () => io.stdout() },
    "wasi:cli/stderr": { getStderr: () => io.stderr() },
    "wasi:cli/terminal-input": { TerminalInput: class TerminalInput {} },
    "wasi:cli/terminal-output": { TerminalOutput: class TerminalOutput {} },
    "wasi:cli/terminal-stdin": { getTerminalStdin: none },
    "wasi:cli/terminal-stdout": { getTerminalStdout: none },
    "wasi:cli/terminal-stderr": { getTerminalStderr: none },
  };
}

/** wasi:cli: arguments, environment and exit from the run's config; stdio through wasi:io. */
export const cliInterface = p2Interface({
  names: [
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
  ],
  ops: [],
  imports: cliImports,
});
