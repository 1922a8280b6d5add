// dwe guest SDK for AssemblyScript (guest ABI v1, docs/abi.md).
//
//   import { inputJson, outputJson, log, now, http, HttpRequest } from "../../../guest-sdk/assemblyscript";
//
//   export function run(): void { ... }
//
// Error model: every operation that can fail has a `tryX` form returning `Result<T>`
// (`ok`, `value`, `error: DweError | null`) — or `DweError | null` when there is no value — and a
// plain form `x` that returns the value and fails the run with the host's error (its message and
// code) otherwise. Operations that cannot fail in practice (`log`, `now`, `output`, ...) only have
// the plain form.
//
// Never call these from a top-level statement of a module: only from `run` (or another entry).
//
// Modules:
//   abi      host imports, tryCall/call (raw ops), DweError, Result, fail
//   msgpack  MsgValue tree, MsgWriter, MsgReader
//   json     JsonValue tree, Json.parse / Json.stringify
//   run      input/output, run info, idempotency keys
//   log      log
//   time     now, sleep, sleepUntil, randomBytes
//   http     HttpRequest, HttpResponse, http, tryHttp
//   exec     exec, tryExec, ExecOptions, ExecResult, shellQuote
//   fs       readFile, writeFile, appendFile, listDir, stat, remove (+ try forms)
//   signal   waitSignal, tryWaitSignal, Signal
//   child    startChild, startChildJson, joinChild, tryJoinChild, ChildResult
//   retry    RetryPolicy, tryHttpRetry, tryExecRetry

export * from "./abi";
export * from "./msgpack";
export * from "./json";
export * from "./run";
export * from "./log";
export * from "./time";
export * from "./http";
export * from "./exec";
export * from "./fs";
export * from "./signal";
export * from "./child";
export * from "./retry";
