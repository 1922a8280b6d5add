import { closeSync, constants, mkdtempSync, openSync, readSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GuestVisibleError } from "../engine/kernel/errors.js";
import { findOnPath, grantedProgram, type Grants } from "../engine/kernel/grants.js";
import { checkExecEnv } from "./exec-env.js";
import { fdPath } from "./confined-root.js";
import { abiFs, resolveGuestPath } from "./fs-sandbox.js";
import { killGroup, trackGroup, untrackGroup } from "./process-groups.js";
import { stopReason, type HostContext, type HostFunction } from "../engine/kernel/host-function.js";
import { nodeChildProcess } from "../engine/kernel/node-modules.js";
import { RequestFields } from "./request-fields.js";
import { LiveLines } from "./live-output.js";

export const MAX_EXEC_OUTPUT = 16 * 1024 * 1024;
/** What `output_file` returns at most (the rest is cut, as for stdout). */
export const MAX_OUTPUT_FILE = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
/** After the program exits, how long a process that escaped its group may keep the output pipes open. */
const PIPE_GRACE_MS = 2_000;

interface ExecRequest {
  argv: string[];
  cwd: string | undefined;
  env: Record<string, string>;
  stdin: Uint8Array;
  timeoutMs: number;
  atMostOnce: boolean;
  outputFile: boolean;
  /** Show the output as the command runs, each line with this prefix (see LiveLines). */
  live: string | undefined;
}

/**
 * `output_file`: a fresh empty file the command finds in `DWE_OUTPUT` (as `$GITHUB_OUTPUT` in
 * GitHub Actions); what it wrote there is returned with the result and the file is removed.
 */
class OutputFile {
  private readonly dir = mkdtempSync(join(tmpdir(), "dwe-output-"));
  readonly path = join(this.dir, "output");
  constructor() {
    writeFileSync(this.path, "", { mode: 0o600 });
  }
  /** The first MAX_OUTPUT_FILE bytes written, then removes the file. */
  take(): Uint8Array {
    try {
      const fd = openSync(this.path, "r");
      try {
        const buf = new Uint8Array(MAX_OUTPUT_FILE);
        let n = 0;
        for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
        return buf.slice(0, n);
      } finally {
        closeSync(fd);
      }
    } catch {
      return new Uint8Array(0); // the command removed it: it wrote nothing we can see
    } finally {
      this.remove();
    }
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface ExecResult {
  code: number;
  signal: string | null;
  stdout: Uint8Array;
  stderr: Uint8Array;
  key: string;
  output_file?: Uint8Array;
}

class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  add(chunk: Buffer): void {
    const room = MAX_EXEC_OUTPUT - this.size;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.size += part.length;
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.chunks));
  }
}

/**
 * `exec`: runs a program (no shell unless asked for), only with --allow-shell. At-least-once by
 * default; the command sees its idempotency key in DWE_IDEMPOTENCY_KEY. Nothing of the host's
 * environment leaks in but PATH. See docs/security.md ("Commands") for the rules enforced here.
 */
export const exec: HostFunction<ExecRequest> = {
  name: "exec",
  kind: "effect",
  parse(request) {
    const f = new RequestFields("exec", request);
    const argv = f.strList("argv");
    if (argv.length === 0 || argv[0] === "") throw new GuestVisibleError("invalid", "exec needs a program in argv[0]");
    if (argv.some((a) => a.includes("\0"))) throw new GuestVisibleError("invalid", "exec arguments cannot contain NUL bytes");
    return {
      argv,
      cwd: f.optStr("cwd"),
      env: f.strMap("env"),
      stdin: f.bytes("stdin"),
      timeoutMs: f.optUint("timeout_ms", 24 * 3_600_000) ?? DEFAULT_TIMEOUT_MS,
      atMostOnce: f.bool("at_most_once"),
      outputFile: f.bool("output_file"),
      live: f.optStr("live"),
    };
  },
  atMostOnce: (req) => req.atMostOnce,
  redoSafe: (req) => !req.atMostOnce,
  perform(ctx, req) {
    const name = req.argv[0]!;
    const file = programFile(ctx.grants, name);
    const allowed = ctx.grants.envOverride ?? [];
    checkExecEnv(req.env, allowed);
    const cwd = workingDirectory(ctx.grants, req.cwd);
    const outputFile = req.outputFile ? new OutputFile() : null;
    const env = {
      PATH: process.env.PATH ?? DEFAULT_PATH,
      ...req.env,
      DWE_IDEMPOTENCY_KEY: ctx.key,
      ...(outputFile && { DWE_OUTPUT: outputFile.path }),
    };
    return run(ctx, req, file, cwd, env, outputFile);
  },
};

/**
 * The file to execute for argv[0]: a list grant's fixed path; with any program granted, a bare name
 * is looked up on the host's PATH (dwe's own, never the one the guest passes in `env`).
 */
function programFile(grants: Grants, name: string): string {
  if (grants.shell === false) throw new GuestVisibleError("denied", "running commands was not granted; run with --allow-shell");
  if (grants.shell !== true) {
    const granted = grantedProgram(grants, name);
    if (!granted) throw new GuestVisibleError("denied", `running '${name}' was not granted; add it to --allow-shell`);
    return granted.path;
  }
  if (name.includes("/")) return name;
  const found = findOnPath(name, process.env.PATH ?? DEFAULT_PATH);
  if (found === null) throw new GuestVisibleError("not_found", `program '${name}' not found on the host's PATH`);
  return found;
}

/**
 * The command's working directory: `cwd` is a guest path, resolved (symlinks confined) through its
 * grant's root like a file path; without one, the first granted directory. Never dwe's own working
 * directory, and nothing without a grant. The host path handed to the command is the directory
 * actually opened (read back from its descriptor), not the path as the guest wrote it.
 */
function workingDirectory(grants: Grants, cwd: string | undefined): string {
  const first = grants.dirs[0];
  if (!first) {
    throw new GuestVisibleError(
      "denied",
      "exec runs its command in a granted directory, and none was granted; run with --dir HOST:GUEST (the first one is the default cwd)",
    );
  }
  const path = cwd ?? first.guest;
  return abiFs(path, () => {
    const { root, rel } = resolveGuestPath(grants, path, false);
    return root.withOpen(rel === "" ? "." : rel, constants.O_RDONLY, { follow: true, type: "dir" }, (fd) => readlinkSync(fdPath(fd)));
  });
}

/**
 * Runs the command as the leader of its own process group and answers when it has exited and its
 * output is in. Whatever it left running in its group is killed then; on `timeout_ms` the whole
 * group is killed; when the run is stopped (timeout, cancel, shutdown) the group is killed and
 * the stop's reason thrown, so the call stays in flight in the journal.
 */
function run(
  ctx: HostContext,
  req: ExecRequest,
  file: string,
  cwd: string,
  env: Record<string, string>,
  outputFile: OutputFile | null,
): Promise<ExecResult> {
  const name = req.argv[0]!;
  return new Promise((resolve, reject) => {
    const child = nodeChildProcess().spawn(file, req.argv.slice(1), {
      argv0: name,
      cwd,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) trackGroup(pid);
    const out = new Capture();
    const err = new Capture();
    // Shown as it arrives when this process prints the run's output; journaled with the result.
    const show = req.live !== undefined ? ctx.live : undefined;
    const liveOut = show && new LiveLines(show, "stdout", req.live!);
    const liveErr = show && new LiveLines(show, "stderr", req.live!);
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    const end = (): void => {
      settled = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      ctx.signal.removeEventListener("abort", onAbort);
      if (pid !== undefined) {
        killGroup(pid);
        untrackGroup(pid);
      }
      child.stdout.destroy();
      child.stderr.destroy();
      liveOut?.end();
      liveErr?.end();
    };
    const answer = (): void => {
      if (settled || exit === null) return;
      end();
      resolve({
        code: exit.code ?? -1,
        signal: exit.signal ?? (timedOut ? "SIGKILL" : null),
        stdout: out.bytes(),
        stderr: err.bytes(),
        key: ctx.key,
        ...(outputFile && { output_file: outputFile.take() }),
      });
    };
    const fail = (e: Error): void => {
      if (settled) return;
      end();
      outputFile?.remove();
      reject(e);
    };
    const onAbort = () => fail(stopReason(ctx.signal));
    const deadline = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, req.timeoutMs);
    child.stdout.on("data", (c: Buffer) => {
      out.add(c);
      liveOut?.add(c);
    });
    child.stderr.on("data", (c: Buffer) => {
      err.add(c);
      liveErr?.add(c);
    });
    child.stdin.on("error", () => undefined); // the program may exit without reading its input
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") fail(new GuestVisibleError("not_found", `program '${name}' (${file}) not found`));
      else fail(new GuestVisibleError("io", `cannot run '${name}': ${e.message}`));
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // Nothing the command started outlives it: its group goes now, so the pipes its leftovers
      // hold close. One that left the group (setsid) gets a short grace to let go of the pipes.
      if (pid !== undefined) killGroup(pid);
      grace = setTimeout(answer, PIPE_GRACE_MS);
    });
    child.on("close", answer);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    child.stdin.end(req.stdin);
  });
}
