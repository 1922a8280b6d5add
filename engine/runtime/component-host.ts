import { ComponentTrap, ProgramExit } from "../kernel/errors.js";
import { nodeWorkerThreads } from "../kernel/node-modules.js";
import type { Dispatch, Reply } from "../kernel/reply.js";
import type { RunRecord } from "../store/types.js";
import { argvOf } from "../../host-functions/wasi/args.js";
import type { LoadedComponent } from "./component-loader.js";
import type { ComponentWorkerData, HostMessage, WorkerMessage } from "./component-worker.js";
import { DEFAULT_MAX_MEMORY } from "./module-loader.js";

/**
 * Runs a transpiled component: the guest runs in a worker thread, and its host calls come here,
 * where the run's Dispatcher answers them (from the journal, or live under their commit rule).
 * The worker waits for each answer synchronously, which is how a component (jco's JS glue has no
 * asyncify support, and Node 20 no JSPI) can block on a durable timer or an effect.
 */

export interface RunComponentOptions {
  component: LoadedComponent;
  run: RunRecord;
  dispatcher: Dispatch;
  /** Aborted: the worker is terminated and the reason thrown (timeout, lost lease, shutdown). */
  signal: AbortSignal;
}

const PAGE = 65536;

/** Runs the component's wasi:cli/run to its end; resolves on exit code 0, throws otherwise. */
export async function runComponent(o: RunComponentOptions): Promise<void> {
  const { run } = o;
  if (o.signal.aborted) throw o.signal.reason;
  const { MessageChannel, receiveMessageOnPort, Worker } = nodeWorkerThreads();
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const { port1, port2 } = new MessageChannel();
  const workerData: ComponentWorkerData = {
    files: o.component.files,
    maxPages: Math.max(1, Math.floor((run.config.maxMemoryBytes ?? DEFAULT_MAX_MEMORY) / PAGE)),
    args: argvOf(run),
    env: Object.keys(run.config.env)
      .sort()
      .map((k): [string, string] => [k, run.config.env[k]!]),
    stdin: run.input,
    grants: run.config.grants,
    shared,
    port: port2,
  };
  const worker = new Worker(new URL("./component-worker.js", import.meta.url), { workerData, transferList: [port2] });
  let settled = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const end = (err: unknown) => {
        if (settled) return;
        settled = true;
        // Wake the worker (it may be waiting for an answer) and end it; nothing it does from here counts.
        port1.postMessage({ t: "stop" } satisfies HostMessage);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        if (err === undefined) resolve();
        else reject(err);
      };
      const answer = (reply: Reply) => {
        if (settled) return;
        port1.postMessage({ t: "reply", ok: reply.ok, bytes: reply.bytes } satisfies HostMessage);
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
      };
      const onMessage = (msg: WorkerMessage) => {
        if (settled) return;
        switch (msg.t) {
          case "call": {
            let r: Reply | Promise<Reply>;
            try {
              r = o.dispatcher.call(msg.op, new Uint8Array(msg.request));
            } catch (err) {
              end(err);
              return;
            }
            if (r instanceof Promise) r.then(answer, end);
            else answer(r);
            return;
          }
          case "exit":
            end(msg.code === 0 ? undefined : new ProgramExit(msg.code));
            return;
          case "trap":
            end(new ComponentTrap(msg.message, msg.stderr));
            return;
        }
      };
      port1.on("message", onMessage);
      worker.on("error", (err) => end(new ComponentTrap(err.message)));
      // The worker's exit can be seen before its last message (its exit or trap) is delivered on
      // the port: read what the port still holds before judging that the worker ended early.
      // Its last message is written to the port before the thread ends, so reading the port after
      // the exit event (and once more a turn later) sees it if it was sent.
      const drain = () => {
        for (let m = receiveMessageOnPort(port1); m && !settled; m = receiveMessageOnPort(port1)) onMessage(m.message as WorkerMessage);
      };
      worker.on("exit", (code) => {
        drain();
        setImmediate(() => {
          drain();
          end(new ComponentTrap(`the component's worker thread ended (code ${code}) before the program did`));
        });
      });
      o.signal.addEventListener("abort", () => end(o.signal.reason), { once: true });
    });
  } finally {
    port1.close();
    await worker.terminate();
  }
}
