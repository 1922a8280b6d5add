// Child runs: fan-out and fan-in (ops `child.start`, `child.join`). A child is another export of
// this module (or of another stored module, by sha256); it runs in parallel on any worker, with
// the parent's grants and limits. Its id is `<parent-id>.<seq>`, so a parent that is replayed
// after a crash finds its children instead of starting new ones.

import { tryCallMsg, Result } from "./abi";
import { Msg, MsgValue } from "./msgpack";
import { Json, JsonValue } from "./json";

/** How a child ended. */
export class ChildResult {
  constructor(
    public id: string,
    /** `completed`, `failed` or `cancelled`. */
    public status: string,
    /** The child's output (empty unless completed with an output). */
    public output: Uint8Array,
    /** The child's error code and message (empty when completed). */
    public errorCode: string,
    public errorMessage: string,
  ) {}

  get ok(): bool { return this.status == "completed"; }

  /** The output decoded as UTF-8. */
  text(): string { return String.UTF8.decodeUnsafe(this.output.dataStart, <usize>this.output.length); }

  /** The output parsed as JSON, or null. */
  json(): JsonValue | null { return this.output.length == 0 ? null : Json.parse(this.text()); }
}

/** Starts export `entry` as a child run with `input`; `module` is a stored module's sha256 ("" = this module). Returns the child id. */
export function tryStartChild(entry: string, input: Uint8Array | null = null, module: string = ""): Result<string> {
  const req = Msg.map().set("entry", Msg.str(entry));
  if (input !== null) req.set("input", Msg.bin(input));
  if (module.length > 0) req.set("module", Msg.str(module));
  const r = tryCallMsg("child.start", req);
  if (!r.ok) return Result.failure<string>(r.error!);
  return Result.success<string>(r.value.asMap().getString("id"));
}

/** `tryStartChild`; fails the run on error. */
export function startChild(entry: string, input: Uint8Array | null = null, module: string = ""): string {
  return tryStartChild(entry, input, module).value;
}

/** Starts a child with a JSON input. */
export function startChildJson(entry: string, input: JsonValue, module: string = ""): string {
  return startChild(entry, Uint8Array.wrap(String.UTF8.encode(input.toString())), module);
}

/** Waits until child `id` ends (`timeoutMs < 0`: no limit); the parent is suspended meanwhile. Error `timeout` if it takes longer. */
export function tryJoinChild(id: string, timeoutMs: i64 = -1): Result<ChildResult> {
  const req = Msg.map().set("id", Msg.str(id));
  if (timeoutMs >= 0) req.set("timeout_ms", Msg.int(timeoutMs));
  return childResult(tryCallMsg("child.join", req));
}

function childResult(r: Result<MsgValue>): Result<ChildResult> {
  if (!r.ok) return Result.failure<ChildResult>(r.error!);
  const m = r.value.asMap();
  const e = m.get("error");
  let code = "";
  let message = "";
  if (e !== null && !e.isNil) {
    code = e.asMap().getString("code");
    message = e.asMap().getString("message");
  }
  return Result.success<ChildResult>(new ChildResult(m.getString("id"), m.getString("status"), m.getBytes("output"), code, message));
}

/** Waits until the first of `ids` ends (the first ended one in list order when several have); `timeoutMs < 0`: no limit. */
export function tryJoinAnyChild(ids: string[], timeoutMs: i64 = -1): Result<ChildResult> {
  const req = Msg.map().set("ids", Msg.strings(ids));
  if (timeoutMs >= 0) req.set("timeout_ms", Msg.int(timeoutMs));
  return childResult(tryCallMsg("child.join", req));
}

/** `tryJoinAnyChild` without a limit; fails the run on error. */
export function joinAnyChild(ids: string[]): ChildResult {
  return tryJoinAnyChild(ids).value;
}

/** `tryJoinChild` without a limit; fails the run on error (a failed child is a result, not an error). */
export function joinChild(id: string): ChildResult {
  return tryJoinChild(id).value;
}
