// Worker thread of one component run (see component-host.ts): instantiates the transpiled
// component with dwe's WASI 0.2 imports and runs wasi:cli/run. Every host call is sent to the
// engine's thread and waited for synchronously (Atomics.wait), so the guest can block on durable
// timers and effects without JSPI or asyncify.
import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import type { Reply } from "../kernel/reply.js";
import type { Grants } from "../kernel/grants.js";
import { ProgramExit } from "../kernel/errors.js";
import type { P2Env } from "../../host-functions/wasi-p2/host.js";
import { wasiP2Imports } from "../../host-functions/wasi-p2/index.js";
import { flushStdio, stderrTail } from "../../host-functions/wasi-p2/io.js";
import { COMPONENT_JS } from "./component-loader.js";
import { withMemoryLimit } from "./wasm-binary.js";

export interface ComponentWorkerData {
  /** The transpiled component as stored (component.js and its core modules): never read from disk. */
  files: Record<string, Uint8Array>;
  maxPages: number;
  args: string[];
  env: [string, string][];
  stdin: Uint8Array;
  grants: Grants;
  /** Int32 flag: 0 while a call is out, 1 when its answer is on the port. */
  shared: SharedArrayBuffer;
  port: MessagePort;
}

/** Messages to the engine's thread. */
export type WorkerMessage =
  | { t: "call"; op: string; request: Uint8Array }
  | { t: "exit"; code: number }
  | { t: "trap"; name: string; message: string; stack: string; stderr: string };

/** Answers from the engine's thread: a reply, or "stop" (the run ends here: suspend, divergence, …). */
export type HostMessage = { t: "reply"; ok: boolean; bytes: Uint8Array } | { t: "stop" };

/** Unwinds the guest when the engine ends the run at a host call. */
class Stopped extends Error {
  override name = "Stopped";
}

const data = workerData as ComponentWorkerData;
const flag = new Int32Array(data.shared);
const port = data.port;

/** A tick to sleep on while an answer the flag announced is not readable on the port yet. */
const nap = new Int32Array(new SharedArrayBuffer(4));
/** How long an announced answer may take to be readable before the thread reports the loss. */
const ANSWER_GRACE_MS = 10_000;

function call(op: string, request: Uint8Array): Reply {
  Atomics.store(flag, 0, 0);
  port.postMessage({ t: "call", op, request } satisfies WorkerMessage);
  Atomics.wait(flag, 0, 0);
  // The engine writes the answer to the port before it raises the flag, so the answer is there;
  // should it ever not be readable yet, wait for it rather than take its absence for a stop: only
  // an explicit "stop" ends the program here (a missing answer taken as a stop once ended a
  // finished program without its exit message).
  let got = receiveMessageOnPort(port);
  for (let waited = 0; !got && waited < ANSWER_GRACE_MS; waited++) {
    Atomics.wait(nap, 0, 0, 1);
    got = receiveMessageOnPort(port);
  }
  if (!got) throw new Error(`dwe internal error: no answer from the engine to ${op} within ${ANSWER_GRACE_MS / 1000} s`);
  const msg = got.message as HostMessage;
  if (msg.t === "stop") throw new Stopped("stopped by the engine");
  return { ok: msg.ok, bytes: msg.bytes };
}

const env: P2Env = {
  call,
  args: data.args,
  env: data.env,
  stdin: data.stdin,
  grants: data.grants,
  clock: { lastMonotonic: 0n },
  procExit: { code: null },
};

function post(msg: WorkerMessage): void {
  port.postMessage(msg);
}

function isStopped(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = (e as { cause?: unknown }).cause) if (e instanceof Stopped) return true;
  return false;
}

function exitOf(err: unknown): number | undefined {
  for (let e = err; e instanceof Error; e = (e as { cause?: unknown }).cause) if (e instanceof ProgramExit) return e.status;
  return undefined;
}

type CoreImports = WebAssembly.Imports;

interface Transpiled {
  instantiate(
    getCoreModule: (path: string) => WebAssembly.Module,
    imports: Record<string, unknown>,
    instantiateCore: (module: WebAssembly.Module, imports?: CoreImports) => Promise<WebAssembly.Instance>,
  ): Promise<{ run: { run(): void } }>;
}

/**
 * Instantiates a core module of the component as jco would, except that a preview1 `proc_exit`
 * handed to it (the link from a preview1 program to the adapter of `jco new --wasi-command`) first
 * notes the program's exit code: the adapter turns every non-zero code into `exit(err)`.
 */
function instantiateCore(module: WebAssembly.Module, imports?: CoreImports): Promise<WebAssembly.Instance> {
  const p1 = imports?.wasi_snapshot_preview1;
  const procExit = p1?.proc_exit;
  if (p1 && typeof procExit === "function") {
    p1.proc_exit = Object.assign((code: number) => {
      env.procExit.code = code >>> 0;
      return (procExit as (code: number) => unknown)(code);
    }, procExit);
  }
  return WebAssembly.instantiate(module, imports);
}

try {
  const js = Buffer.from(data.files[COMPONENT_JS]!).toString("base64");
  const mod = (await import(`data:text/javascript;base64,${js}`)) as Transpiled;
  const getCoreModule = (file: string) => {
    const bytes = data.files[file];
    if (!bytes) throw new Error(`the transpiled component has no core module ${file}`);
    return new WebAssembly.Module(withMemoryLimit(bytes, data.maxPages) as Uint8Array<ArrayBuffer>);
  };
  const root = await mod.instantiate(getCoreModule, wasiP2Imports(env), instantiateCore);
  let code: number;
  try {
    root.run.run();
    code = 0;
  } catch (err) {
    const exit = exitOf(err);
    if (exit !== undefined) code = exit;
    else if (err instanceof Error && err.name === "ComponentError") code = 1;
    else {
      if (!isStopped(err)) flushStdio();
      throw err;
    }
  }
  flushStdio();
  post({ t: "exit", code });
} catch (err) {
  if (!isStopped(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({
      t: "trap",
      name: e instanceof WebAssembly.RuntimeError ? "RuntimeError" : e.name,
      message: e.message,
      stack: e.stack ?? "",
      stderr: stderrTail.text(),
    });
  }
} finally {
  port.close();
}
