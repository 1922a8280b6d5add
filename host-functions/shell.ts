import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GuestVisibleError } from "../engine/errors.js";
import { shellAllowed } from "../engine/executor/grants.js";
import type { HostFunction } from "./types.js";
import { RequestFields } from "./request-fields.js";

export const MAX_EXEC_OUTPUT = 16 * 1024 * 1024;
/** What `output_file` returns at most (the rest is cut, as for stdout). */
export const MAX_OUTPUT_FILE = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

interface ExecRequest {
  argv: string[];
  cwd: string | undefined;
  env: Record<string, string>;
  stdin: Uint8Array;
  timeoutMs: number;
  atMostOnce: boolean;
  outputFile: boolean;
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
 * environment leaks in but PATH.
 */
export const exec: HostFunction<ExecRequest> = {
  name: "exec",
  kind: "effect",
  parse(request) {
    const f = new RequestFields("exec", request);
    const argv = f.strList("argv");
    if (argv.length === 0 || argv[0] === "") throw new GuestVisibleError("invalid", "exec needs a program in argv[0]");
    return {
      argv,
      cwd: f.optStr("cwd"),
      env: f.strMap("env"),
      stdin: f.bytes("stdin"),
      timeoutMs: f.optUint("timeout_ms", 24 * 3_600_000) ?? DEFAULT_TIMEOUT_MS,
      atMostOnce: f.bool("at_most_once"),
      outputFile: f.bool("output_file"),
    };
  },
  atMostOnce: (req) => req.atMostOnce,
  perform(ctx, req) {
    const program = req.argv[0]!;
    if (!shellAllowed(ctx.grants, program)) {
      throw new GuestVisibleError(
        "denied",
        ctx.grants.shell === false
          ? `running commands was not granted; run with --allow-shell`
          : `running '${program}' was not granted; add it to --allow-shell`,
      );
    }
    const outputFile = req.outputFile ? new OutputFile() : null;
    const env = {
      PATH: process.env.PATH ?? DEFAULT_PATH,
      ...req.env,
      DWE_IDEMPOTENCY_KEY: ctx.key,
      ...(outputFile && { DWE_OUTPUT: outputFile.path }),
    };
    const cwd = resolve(ctx.cwd, req.cwd ?? ".");
    return new Promise((resolvePromise, reject) => {
      const child = spawn(program, req.argv.slice(1), { cwd, env, stdio: ["pipe", "pipe", "pipe"], signal: ctx.signal });
      const out = new Capture();
      const err = new Capture();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, req.timeoutMs);
      child.stdout.on("data", (c: Buffer) => out.add(c));
      child.stderr.on("data", (c: Buffer) => err.add(c));
      child.stdin.on("error", () => undefined); // the program may exit without reading its input
      child.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        outputFile?.remove();
        if (e.code === "ENOENT") reject(new GuestVisibleError("not_found", `program '${program}' not found (cwd ${cwd})`));
        else if (e.name === "AbortError") reject(e);
        else reject(new GuestVisibleError("io", `cannot run '${program}': ${e.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolvePromise({
          code: code ?? -1,
          signal: signal ?? (timedOut ? "SIGKILL" : null),
          stdout: out.bytes(),
          stderr: err.bytes(),
          key: ctx.key,
          ...(outputFile && { output_file: outputFile.take() }),
        });
      });
      child.stdin.end(req.stdin);
    });
  },
};
