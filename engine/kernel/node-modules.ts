// Node's own modules that only some runs need (an HTTP client, a command, a thread), loaded at their
// first use rather than when dwe starts: loading them all cost ≈ 14 ms of every `dwe run`'s start
// (B7, bench/README.md), and a run that makes no HTTP request, runs no command and starts no thread
// never needs them. Code that imports one of these for its values goes through a getter here;
// `import type` stays free.
import { createRequire } from "node:module";
import type * as ChildProcess from "node:child_process";
import type * as Http from "node:http";
import type * as Https from "node:https";
import type * as WorkerThreads from "node:worker_threads";

const load = createRequire(import.meta.url);

function onFirstUse<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(specifier) as T);
}

export const nodeHttp = onFirstUse<typeof Http>("node:http");
export const nodeHttps = onFirstUse<typeof Https>("node:https");
export const nodeChildProcess = onFirstUse<typeof ChildProcess>("node:child_process");
export const nodeWorkerThreads = onFirstUse<typeof WorkerThreads>("node:worker_threads");
