// The pipeline workflow: executes a pipeline definition that `dwe pipeline` parsed from YAML and
// pinned as the run's input (engine/pipeline/definition.ts, docs/pipelines.md).
//
//   run   the pipeline: starts each job as a child run (export `job`) once the jobs it needs have
//         ended, several at a time; joins whichever ends first; skips jobs whose `if` is false;
//         fails naming the job and step that failed, else outputs a summary of every job.
//   job   one job: its steps in order, each a command (exec) with retries (durable sleeps between
//         attempts), a timeout, `if`, `continue-on-error`, env and `$DWE_OUTPUT` outputs.
//
// Everything here is a function of the input and of journaled results, so a resumed run makes the
// same decisions: a step that finished is answered from the journal, never run again.

import {
  inputJson, outputJson, fail, log, logShown, now, sleep, tryExec, ExecOptions, startChildJson, joinAnyChild,
  Json, JsonObject, JsonArray, JsonValue,
} from "../assemblyscript";
import { Scope, evaluate, render, addEnv } from "./expr";

const FORMAT = 1;

function obj(v: JsonValue | null): JsonObject {
  if (v === null || !v.isObject) return new JsonObject();
  return <JsonObject>v;
}

function arr(v: JsonValue | null): JsonValue[] {
  if (v === null || !v.isArray) return [];
  return v.asArray();
}

function definition(): JsonObject {
  const v = inputJson();
  if (!v.isObject || obj(v).getNumber("format", 0) != <f64>FORMAT) {
    fail("this run's input is not a pipeline definition of format " + FORMAT.toString() + "; start pipelines with `dwe pipeline FILE.yaml`", "invalid_input");
  }
  return <JsonObject>v;
}

function seconds(ms: i64): string {
  const tenths = (ms % 1000) / 100;
  return (ms / 1000).toString() + "." + tenths.toString() + " s";
}

// ---- the pipeline ----------------------------------------------------------------------------

const NOT_STARTED = "";
const RUNNING = "running";
const SUCCESS = "success";
const FAILURE = "failure";
const SKIPPED = "skipped";
const CANCELLED = "cancelled";

export function run(): void {
  const def = definition();
  const jobs = arr(def.get("jobs"));
  const n = jobs.length;
  const ids = new Array<string>(n);
  const result = new Array<string>(n);
  const why = new Array<string>(n);
  const outputs = new Array<JsonObject>(n);
  /** A job failed somewhere above this one (for `failure()` in a job's `if`). */
  const failedAbove = new Array<bool>(n);
  for (let i = 0; i < n; i++) {
    ids[i] = "";
    result[i] = NOT_STARTED;
    why[i] = "";
    outputs[i] = new JsonObject();
    failedAbove[i] = false;
  }
  const pipelineScope = new Scope();
  pipelineScope.inputs = obj(def.get("inputs"));
  addEnv(def.get("env"), pipelineScope);

  for (;;) {
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = 0; i < n; i++) {
        if (result[i] != NOT_STARTED) continue;
        const job = obj(jobs[i]);
        const needs = arr(job.get("needs"));
        let ready = true;
        let allSucceeded = true;
        let failed = false;
        const needsCtx = new JsonObject();
        for (let k = 0; k < needs.length; k++) {
          const j = indexOf(jobs, needs[k].asString());
          if (result[j] == NOT_STARTED || result[j] == RUNNING) ready = false;
          if (result[j] != SUCCESS) allSucceeded = false;
          if (result[j] == FAILURE || failedAbove[j]) failed = true;
          needsCtx.set(needs[k].asString(), outputs[j]);
        }
        if (!ready) continue;
        failedAbove[i] = failed;
        const scope = pipelineScope.copy();
        scope.needs = needsCtx;
        scope.success = allSucceeded;
        scope.failure = failed;
        const id = job.getString("id");
        if (!evaluate(job.get("if")!, scope).truthy()) {
          result[i] = SKIPPED;
          why[i] = allSucceeded ? "its if: is false" : "a job it needs did not succeed";
          log("job " + id + " skipped: " + why[i]);
          progress = true;
          continue;
        }
        const input = Json.obj()
          .set("job", job)
          .set("needs", needsCtx)
          .set("pipeline", Json.obj()
            .setString("name", def.getString("name"))
            .set("env", obj(def.get("env")))
            .set("inputs", obj(def.get("inputs")))
            .set("workspace", def.get("workspace") === null ? Json.nul() : def.get("workspace")!));
        ids[i] = startChildJson("job", input);
        result[i] = RUNNING;
        log("job " + id + " started (run " + ids[i] + ")");
      }
    }
    const running = new Array<string>();
    for (let i = 0; i < n; i++) if (result[i] == RUNNING) running.push(ids[i]);
    if (running.length == 0) break;
    const r = joinAnyChild(running);
    const i = ids.indexOf(r.id);
    const job = obj(jobs[i]);
    const id = job.getString("id");
    if (r.ok) {
      result[i] = SUCCESS;
      const out = r.json();
      outputs[i] = obj(out === null ? null : obj(out).get("outputs"));
      log("job " + id + " succeeded");
    } else if (r.status == "cancelled") {
      result[i] = CANCELLED;
      why[i] = r.errorMessage;
      log("job " + id + " was cancelled");
    } else if (job.getBool("continue_on_error")) {
      result[i] = SUCCESS;
      why[i] = r.errorMessage;
      log("job " + id + " failed (continue-on-error): " + r.errorMessage);
    } else {
      result[i] = FAILURE;
      why[i] = r.errorMessage;
      log("job " + id + " failed: " + r.errorMessage, "error");
    }
  }

  const summary = Json.obj();
  let firstFailure = -1;
  let failures = 0;
  const skipped = new Array<string>();
  for (let i = 0; i < n; i++) {
    const id = obj(jobs[i]).getString("id");
    const j = Json.obj().setString("result", result[i]);
    if (ids[i].length > 0) j.setString("run", ids[i]);
    if (why[i].length > 0) j.setString(result[i] == SKIPPED ? "reason" : "error", why[i]);
    j.set("outputs", outputs[i]);
    summary.set(id, j);
    if (result[i] == FAILURE || result[i] == CANCELLED) {
      failures++;
      if (firstFailure < 0) firstFailure = i;
    }
    if (result[i] == SKIPPED) skipped.push(id);
  }
  if (firstFailure >= 0) {
    let msg = "job " + obj(jobs[firstFailure]).getString("id") + " " + (result[firstFailure] == CANCELLED ? "was cancelled" : "failed") + ": " + why[firstFailure];
    if (failures > 1) msg += " (and " + (failures - 1).toString() + " more failed)";
    if (skipped.length > 0) msg += "; skipped: " + skipped.join(", ");
    fail(msg, "pipeline_failed");
  }
  outputJson(Json.obj().setString("pipeline", def.getString("name")).setString("result", SUCCESS).set("jobs", summary));
}

function indexOf(jobs: JsonValue[], id: string): i32 {
  for (let i = 0; i < jobs.length; i++) if (obj(jobs[i]).getString("id") == id) return i;
  return -1;
}

// ---- one job ---------------------------------------------------------------------------------

export function job(): void {
  const input = obj(inputJson());
  const def = obj(input.get("job"));
  const pipeline = obj(input.get("pipeline"));
  const jobId = def.getString("id");
  const workspace = pipeline.getString("workspace");
  const scope = new Scope();
  scope.inputs = obj(pipeline.get("inputs"));
  scope.needs = obj(input.get("needs"));
  addEnv(pipeline.get("env"), scope);
  addEnv(def.get("env"), scope);
  const steps = arr(def.get("steps"));
  const report = new JsonArray();
  const started = now();
  const budget = def.getI64("timeout_ms", -1);
  let failedStep = "";
  let failedWhy = "";

  for (let i = 0; i < steps.length; i++) {
    const step = obj(steps[i]);
    const name = step.getString("name");
    const tag = "[" + jobId + "/" + name + "] ";
    const s = scope.copy();
    s.success = failedStep.length == 0;
    s.failure = !s.success;
    const row = Json.obj().setString("name", name);
    if (!evaluate(step.get("if")!, s).truthy()) {
      log(tag + "skipped (its if: is false)");
      report.push(row.setString("result", SKIPPED));
      continue;
    }
    addEnv(step.get("env"), s);
    s.env.set("DWE_JOB", jobId);
    s.env.set("DWE_STEP", name);
    const script = render(step.get("run"), s);
    let cwd = render(step.get("working_directory"), s);
    if (cwd.length > 0 && !cwd.startsWith("/") && workspace.length > 0) cwd = workspace + "/" + cwd;
    else if (cwd.length == 0) cwd = workspace;
    const argv = new Array<string>();
    const shell = arr(step.get("shell"));
    for (let k = 0; k < shell.length; k++) argv.push(shell[k].asString());
    argv.push(script);

    const attempts = <i32>obj(step.get("retry")).getNumber("attempts", 1);
    const backoff = obj(step.get("retry")).getI64("backoff_ms", 1000);
    let ok = false;
    let why = "";
    let code: i64 = -1;
    let tries = 0;
    let took: i64 = 0;
    const stepStart = now();
    for (let a = 1; a <= attempts; a++) {
      tries = a;
      let timeout = step.getI64("timeout_ms", 3600000);
      if (budget >= 0) {
        const left = started + budget - now();
        if (left <= 0) {
          why = "the job's timeout of " + seconds(budget) + " ran out";
          break;
        }
        if (left < timeout) timeout = left;
      }
      const opts = new ExecOptions();
      opts.env = s.env;
      opts.timeoutMs = timeout;
      opts.outputFile = true;
      opts.live = tag; // shown as it runs, each line tagged with its job and step
      if (cwd.length > 0) opts.cwd = cwd;
      log(tag + "$ " + firstLine(script) + (attempts > 1 ? "   (attempt " + a.toString() + " of " + attempts.toString() + ")" : ""));
      const t0 = now();
      const r = tryExec(argv, opts);
      took = now() - t0;
      if (!r.ok) {
        why = r.error!.code + ": " + r.error!.message;
        log(tag + "could not run: " + why, "error");
        break; // a denied or missing program does not get better by retrying
      }
      const res = r.value;
      printLines(tag, res.stdoutString());
      printLines(tag, res.stderrString());
      code = <i64>res.code;
      if (res.success) {
        ok = true;
        log(tag + "exit 0 after " + seconds(took));
        parseOutputs(step, String.UTF8.decodeUnsafe(res.outputFile.dataStart, <usize>res.outputFile.length), s);
        break;
      }
      const sig = res.signal;
      why = sig !== null ? (sig == "SIGKILL" && took >= timeout ? "timed out after " + seconds(timeout) : "killed by " + sig) : "exit code " + res.code.toString();
      log(tag + why + " after " + seconds(took) + (a < attempts ? "; retrying in " + seconds(backoff) : ""), a < attempts ? "warn" : "error");
      if (a < attempts && backoff > 0) sleep(backoff);
    }
    row.setString("result", ok ? SUCCESS : FAILURE).setNumber("exit_code", <f64>code).setNumber("attempts", <f64>tries).setNumber("duration_ms", <f64>(now() - stepStart));
    if (!ok) {
      row.setString("error", why);
      if (step.getBool("continue_on_error")) {
        log(tag + "failed, continuing (continue-on-error)");
      } else if (failedStep.length == 0) {
        failedStep = name;
        failedWhy = why;
      }
    }
    report.push(row);
  }

  if (failedStep.length > 0) fail("step '" + failedStep + "' " + (failedWhy.startsWith("exit code") ? "failed with " : "failed: ") + failedWhy, "step_failed");
  const outs = Json.obj();
  const declared = obj(def.get("outputs"));
  for (let k = 0; k < declared.keys.length; k++) outs.setString(declared.keys[k], render(declared.values[k], scope));
  outputJson(Json.obj().set("outputs", outs).set("steps", report));
}

function firstLine(script: string): string {
  const t = script.trim();
  const nl = t.indexOf("\n");
  return nl < 0 ? t : t.slice(0, nl) + " ...";
}

/**
 * Keeps a command's output for `dwe logs`, each line tagged with its job and step, as one log entry
 * (it was shown live as it ran, so it is not printed again).
 */
function printLines(tag: string, text: string): void {
  if (text.length == 0) return;
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1].length == 0) lines.pop();
  for (let i = 0; i < lines.length; i++) lines[i] = tag + lines[i];
  logShown(lines.join("\n"));
}

/**
 * `$DWE_OUTPUT` lines, as `$GITHUB_OUTPUT`: `name=value`, or `name<<DELIM`, value lines, `DELIM`.
 * Stored under the step's id for `steps.<id>.outputs.<name>` (and the job's `outputs`).
 */
function parseOutputs(step: JsonObject, text: string, scope: Scope): void {
  const idv = step.get("id");
  if (idv === null || idv.isNull) return;
  const outs = Json.obj();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heredoc = line.indexOf("<<");
    const eq = line.indexOf("=");
    if (heredoc > 0 && (eq < 0 || heredoc < eq)) {
      const name = line.slice(0, heredoc);
      const delim = line.slice(heredoc + 2);
      const value = new Array<string>();
      i++;
      while (i < lines.length && lines[i] != delim) value.push(lines[i++]);
      outs.setString(name, value.join("\n"));
    } else if (eq > 0) {
      outs.setString(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  scope.steps.set(idv.asString(), outs);
}
