import { isMap, type Node } from "yaml";
import { PIPELINE_FORMAT, type Expr, type JobDef, type Literal, type PipelineDef, type StepDef, type Template } from "./definition.js";
import { parseDuration } from "../kernel/duration.js";
import { ExpressionError, parseExpression, parseTemplate, references, usesStatus } from "./expression.js";
import { type Problem, YamlReader, isScalarNode } from "./yaml-nodes.js";

// YAML text -> PipelineDef, checking everything that can be checked before a run exists: keys,
// types, durations, the `needs` graph, expressions and every name they use. All problems are
// reported at once, each with its line and column.

const TOP_KEYS = ["name", "env", "inputs", "jobs"];
const INPUT_KEYS = ["description", "default", "required"];
const JOB_KEYS = ["name", "needs", "if", "env", "steps", "outputs", "continue-on-error", "timeout"];
const STEP_KEYS = ["name", "id", "run", "shell", "env", "working-directory", "timeout", "retry", "if", "continue-on-error"];
const RETRY_KEYS = ["attempts", "backoff"];

const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const DEFAULT_STEP_TIMEOUT_MS = 6 * 3_600_000;
const MAX_STEP_TIMEOUT_MS = 24 * 3_600_000;
const MAX_ATTEMPTS = 100;
/** The default limit of children of one run (docs/security.md, child runs). */
const MAX_JOBS = 256;

/** Known shells: the program and the arguments the script follows. Anything else is split on spaces. */
const SHELLS: Record<string, string[]> = {
  bash: ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"],
  sh: ["sh", "-e", "-c"],
  python: ["python", "-c"],
  python3: ["python3", "-c"],
  node: ["node", "-e"],
};

export interface CompileOptions {
  /** The file name shown in messages and pinned in the definition. */
  source: string;
  /** `--env` of the run: beneath the pipeline's own env. */
  runEnv: Record<string, string>;
  /** `--input` of the run (a JSON object), or undefined. */
  inputs: Record<string, unknown> | undefined;
  workspace: string | null;
}

export type CompileResult = { ok: true; def: PipelineDef } | { ok: false; problems: Problem[] };

/** What names an expression may use where it appears. */
interface Scope {
  what: string;
  /** Ids of earlier steps of the job (null: no steps context here). */
  steps: Set<string> | null;
  /** Jobs this job needs, with their declared outputs (null: no needs context here). */
  needs: Map<string, Set<string>> | null;
  env: Set<string>;
  status: boolean;
}

export function compilePipeline(text: string, o: CompileOptions): CompileResult {
  const y = new YamlReader(text);
  if (y.problems.length > 0) return { ok: false, problems: y.problems };
  const c = new Compiler(y, o);
  const def = c.pipeline();
  if (y.problems.length > 0 || !def) return { ok: false, problems: sortProblems(y.problems) };
  return { ok: true, def };
}

function sortProblems(p: Problem[]): Problem[] {
  return [...p].sort((a, b) => a.line - b.line || a.col - b.col);
}

class Compiler {
  private inputNames = new Set<string>();
  /** Each job's needs, even for a job with other problems (the graph is checked on its own). */
  private readonly needsOf = new Map<string, string[]>();

  constructor(
    private readonly y: YamlReader,
    private readonly o: CompileOptions,
  ) {}

  pipeline(): PipelineDef | undefined {
    const y = this.y;
    const root = y.root;
    if (root === null) {
      y.problems.push({ line: 1, col: 1, message: "the file is empty; a pipeline needs at least `jobs:`" });
      return undefined;
    }
    const top = y.map(root, "the pipeline", TOP_KEYS);
    if (!top) return undefined;
    const name = top.has("name")
      ? (y.text(top.get("name")!.value, "name") ?? "")
      : this.o.source.replace(/^.*\//, "").replace(/\.ya?ml$/, "") || "pipeline";
    const inputs = this.inputs(top.get("inputs")?.value ?? null);
    const runEnvNames = new Set(Object.keys(this.o.runEnv));
    const env: Record<string, Template> = {};
    for (const [k, v] of Object.entries(this.o.runEnv)) env[k] = v === "" ? [] : [v];
    const pipelineScope: Scope = { what: "the pipeline's env", steps: null, needs: null, env: runEnvNames, status: false };
    Object.assign(env, this.env(top.get("env")?.value ?? null, "env", pipelineScope));
    const envNames = new Set(Object.keys(env));
    const jobsEntry = top.get("jobs");
    if (!jobsEntry) {
      y.problem(root, "the pipeline has no `jobs:`");
      return undefined;
    }
    const jobNodes = y.map(jobsEntry.value, "jobs", null);
    if (!jobNodes) return undefined;
    if (jobNodes.size === 0) y.problem(jobsEntry.value ?? jobsEntry.key, "`jobs:` is empty");
    if (jobNodes.size > MAX_JOBS)
      y.problem(jobsEntry.key, `${jobNodes.size} jobs is too many: a pipeline has at most ${MAX_JOBS} (each job is a child run)`);
    // Declared outputs first: `needs.<job>.outputs.<name>` is checked against them.
    const declared = new Map<string, Set<string>>();
    const jobMaps = new Map<string, { key: Node; map: Map<string, { key: Node; value: Node | null }> }>();
    for (const [id, { key, value }] of jobNodes) {
      if (!ID.test(id)) y.problem(key, `job id '${id}' must be letters, digits, '_' or '-', starting with a letter or '_'`);
      const m = y.map(value, `job '${id}'`, JOB_KEYS);
      if (!m) continue;
      jobMaps.set(id, { key, map: m });
      const outs = m.get("outputs");
      const names = new Set<string>();
      if (outs?.value && isMap(outs.value)) for (const k of y.map(outs.value, `outputs of job '${id}'`, null)?.keys() ?? []) names.add(k);
      declared.set(id, names);
    }
    const jobs: JobDef[] = [];
    const needsNodes = new Map<string, Node>();
    for (const [id, { key, map }] of jobMaps) {
      const job = this.job(id, key, map, declared, envNames, needsNodes);
      if (job) jobs.push(job);
    }
    const ordered = this.order(jobs, [...jobMaps.keys()], needsNodes);
    if (!ordered) return undefined;
    return {
      format: PIPELINE_FORMAT,
      name,
      source: this.o.source,
      env,
      inputs,
      workspace: this.o.workspace,
      jobs: ordered,
    };
  }

  private inputs(node: Node | null): Record<string, Literal> {
    const y = this.y;
    const out: Record<string, Literal> = {};
    const given = this.o.inputs ?? {};
    if (node !== null) {
      const m = y.map(node, "inputs", null);
      for (const [name, { key, value }] of m ?? []) {
        if (!ID.test(name)) y.problem(key, `input name '${name}' must be letters, digits, '_' or '-'`);
        this.inputNames.add(name);
        const spec = value === null ? new Map<string, { key: Node; value: Node | null }>() : y.map(value, `input '${name}'`, INPUT_KEYS);
        if (!spec) continue;
        const d = spec.get("default")?.value ?? null;
        let def: Literal = null;
        if (d !== null) {
          if (isScalarNode(d) && (d.value === null || ["string", "number", "boolean"].includes(typeof d.value))) def = d.value as Literal;
          else y.problem(d, `the default of input '${name}' must be a string, number or boolean`);
        }
        const required = spec.has("required") ? y.bool(spec.get("required")!.value, `required of input '${name}'`) : false;
        if (name in given) {
          const v = given[name];
          if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[name] = v as Literal;
          else
            y.problem(key, `--input gives input '${name}' a ${Array.isArray(v) ? "list" : "map"}; inputs are strings, numbers or booleans`);
        } else if (required) y.problem(key, `input '${name}' is required: give it with --input '{"${name}": …}'`);
        else out[name] = def;
      }
    }
    for (const name of Object.keys(given)) {
      if (!this.inputNames.has(name))
        y.problems.push({ line: 0, col: 0, message: `--input gives '${name}', which the pipeline does not declare under \`inputs:\`` });
    }
    return out;
  }

  private env(node: Node | null, what: string, scope: Scope): Record<string, Template> {
    const out: Record<string, Template> = {};
    if (node === null) return out;
    const m = this.y.map(node, what, null);
    for (const [name, { key, value }] of m ?? []) {
      if (!ENV_NAME.test(name)) {
        this.y.problem(key, `env name '${name}' must be letters, digits and '_', not starting with a digit`);
        continue;
      }
      const t = this.template(value, `${what}.${name}`, scope);
      if (t) out[name] = t;
    }
    return out;
  }

  private job(
    id: string,
    key: Node,
    m: Map<string, { key: Node; value: Node | null }>,
    declared: Map<string, Set<string>>,
    pipelineEnv: Set<string>,
    needsNodes: Map<string, Node>,
  ): JobDef | undefined {
    const y = this.y;
    const needs: string[] = [];
    const n = m.get("needs");
    if (n) {
      const items = isScalarNode(n.value) ? [n.value] : (y.seq(n.value, `needs of job '${id}'`) ?? []);
      for (const item of items) {
        const need = y.text(item, `needs of job '${id}'`);
        if (need === undefined) continue;
        if (!declared.has(need))
          y.problem(item, `job '${id}' needs '${need}', which is not a job here (jobs: ${[...declared.keys()].join(", ")})`);
        else if (need === id) y.problem(item, `job '${id}' needs itself`);
        else if (needs.includes(need)) y.problem(item, `job '${id}' lists '${need}' twice in needs`);
        else {
          needs.push(need);
          needsNodes.set(`${id}>${need}`, item);
        }
      }
    }
    this.needsOf.set(id, needs);
    const needsScope = new Map(needs.map((j) => [j, declared.get(j)!]));
    const jobIfScope: Scope = { what: `if of job '${id}'`, steps: null, needs: needsScope, env: pipelineEnv, status: true };
    const cond = this.condition(m.get("if")?.value ?? null, jobIfScope);
    const envScope: Scope = { what: `env of job '${id}'`, steps: null, needs: needsScope, env: pipelineEnv, status: false };
    const env = this.env(m.get("env")?.value ?? null, `env of job '${id}'`, envScope);
    const jobEnv = new Set([...pipelineEnv, ...Object.keys(env)]);
    const stepsEntry = m.get("steps");
    const steps: StepDef[] = [];
    const stepIds = new Set<string>();
    if (!stepsEntry) y.problem(key, `job '${id}' has no steps`);
    else {
      const list = y.seq(stepsEntry.value, `steps of job '${id}'`) ?? [];
      if (list.length === 0 && stepsEntry.value) y.problem(stepsEntry.value, `job '${id}' has no steps`);
      list.forEach((node, i) => {
        const s = this.step(id, i, node, new Set(stepIds), needsScope, jobEnv);
        if (!s) return;
        if (s.id !== null) {
          if (stepIds.has(s.id)) y.problem(node, `two steps of job '${id}' have id '${s.id}'`);
          stepIds.add(s.id);
        }
        steps.push(s);
      });
    }
    const outputs: Record<string, Template> = {};
    const outNode = m.get("outputs")?.value ?? null;
    if (outNode !== null) {
      const scope: Scope = { what: `outputs of job '${id}'`, steps: stepIds, needs: needsScope, env: jobEnv, status: false };
      for (const [name, { key: k, value }] of y.map(outNode, `outputs of job '${id}'`, null) ?? []) {
        if (!ID.test(name)) y.problem(k, `output name '${name}' must be letters, digits, '_' or '-'`);
        const t = this.template(value, `output '${name}' of job '${id}'`, scope);
        if (t) outputs[name] = t;
      }
    }
    const coe = m.has("continue-on-error") ? y.bool(m.get("continue-on-error")!.value, `continue-on-error of job '${id}'`) : false;
    const timeout = m.has("timeout") ? this.duration(m.get("timeout")!.value, `timeout of job '${id}'`, Number.MAX_SAFE_INTEGER) : null;
    const nameNode = m.get("name");
    const name = nameNode ? (y.text(nameNode.value, `name of job '${id}'`) ?? id) : id;
    if (!cond) return undefined;
    return { id, name, needs, if: cond, env, steps, outputs, continue_on_error: coe ?? false, timeout_ms: timeout ?? null };
  }

  private step(
    job: string,
    index: number,
    node: Node,
    earlier: Set<string>,
    needs: Map<string, Set<string>>,
    jobEnv: Set<string>,
  ): StepDef | undefined {
    const y = this.y;
    const where = `step ${index + 1} of job '${job}'`;
    const m = y.map(node, where, STEP_KEYS);
    if (!m) return undefined;
    let id: string | null = null;
    if (m.has("id")) {
      const v = y.text(m.get("id")!.value, `id of ${where}`);
      if (v !== undefined && !ID.test(v))
        y.problem(m.get("id")!.value, `step id '${v}' must be letters, digits, '_' or '-', starting with a letter or '_'`);
      id = v ?? null;
    }
    const label = id !== null ? `step '${id}' of job '${job}'` : where;
    const envScope: Scope = { what: `env of ${label}`, steps: earlier, needs, env: jobEnv, status: false };
    const env = this.env(m.get("env")?.value ?? null, `env of ${label}`, envScope);
    const stepEnv = new Set([...jobEnv, ...Object.keys(env)]);
    const scope: Scope = { what: label, steps: earlier, needs, env: stepEnv, status: false };
    const runEntry = m.get("run");
    let run: Template | undefined;
    if (!runEntry) y.problem(node, `${label} has no \`run:\``);
    else run = this.template(runEntry.value, `run of ${label}`, scope);
    let shell = SHELLS.bash!;
    if (m.has("shell")) {
      const v = y.text(m.get("shell")!.value, `shell of ${label}`);
      if (v !== undefined) {
        if (v.includes("${{")) y.problem(m.get("shell")!.value, `shell of ${label} cannot use expressions`);
        const words = v
          .trim()
          .split(/\s+/)
          .filter((w) => w !== "");
        if (words.length === 0) y.problem(m.get("shell")!.value, `shell of ${label} is empty`);
        else shell = SHELLS[v.trim()] ?? words;
      }
    }
    const wdNode = m.get("working-directory")?.value ?? null;
    const wd = wdNode === null ? null : this.template(wdNode, `working-directory of ${label}`, scope);
    const timeout = m.has("timeout")
      ? this.duration(m.get("timeout")!.value, `timeout of ${label}`, MAX_STEP_TIMEOUT_MS)
      : DEFAULT_STEP_TIMEOUT_MS;
    let retry = { attempts: 1, backoff_ms: 1000 };
    if (m.has("retry")) {
      const r = y.map(m.get("retry")!.value, `retry of ${label}`, RETRY_KEYS);
      if (r) {
        const a = r.get("attempts")?.value ?? null;
        let attempts = 1;
        if (!a) y.problem(m.get("retry")!.value, `retry of ${label} needs attempts (1-${MAX_ATTEMPTS})`);
        else if (!isScalarNode(a) || typeof a.value !== "number" || !Number.isInteger(a.value) || a.value < 1 || a.value > MAX_ATTEMPTS)
          y.problem(a, `retry attempts of ${label} must be a whole number from 1 to ${MAX_ATTEMPTS}`);
        else attempts = a.value;
        const b = r.get("backoff");
        const backoff = b ? this.duration(b.value, `retry backoff of ${label}`, MAX_STEP_TIMEOUT_MS) : 1000;
        retry = { attempts, backoff_ms: backoff ?? 1000 };
      }
    }
    const cond = this.condition(m.get("if")?.value ?? null, { ...scope, what: `if of ${label}`, status: true });
    const coe = m.has("continue-on-error") ? y.bool(m.get("continue-on-error")!.value, `continue-on-error of ${label}`) : false;
    let name = id ?? String(index + 1);
    if (m.has("name")) name = y.text(m.get("name")!.value, `name of ${label}`) ?? name;
    if (!run || !cond || timeout === undefined) return undefined;
    return {
      name,
      id,
      run,
      shell,
      env,
      working_directory: wd ?? null,
      timeout_ms: timeout,
      retry,
      if: cond,
      continue_on_error: coe ?? false,
      line: y.pos(node).line,
    };
  }

  private duration(node: Node | null, what: string, max: number): number | undefined {
    const y = this.y;
    if (!isScalarNode(node) || typeof node.value !== "string") {
      y.problem(node, `${what} must be a duration with a unit, such as 90s, 10m or 1h30m`);
      return undefined;
    }
    const ms = parseDuration(node.value);
    if (ms === undefined) {
      y.problem(node, `${what} '${node.value}' is not a duration: use a number and a unit (ms, s, m, h, d), such as 90s, 10m or 1h30m`);
      return undefined;
    }
    if (ms > max) {
      y.problem(node, `${what} '${node.value}' is too long (at most ${max / 3_600_000}h)`);
      return undefined;
    }
    return ms;
  }

  /** `if:` with or without `${{ }}`; without a status function it means `success() && (…)`. */
  private condition(node: Node | null, scope: Scope): Expr | undefined {
    if (node === null) return { fn: "success" };
    const y = this.y;
    let e: Expr;
    if (isScalarNode(node) && typeof node.value === "boolean") e = { lit: node.value };
    else {
      const text = y.text(node, scope.what);
      if (text === undefined) return undefined;
      const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(text);
      const inner = m ? m[1]! : text;
      const shift = m ? text.indexOf("${{") + 3 : 0;
      try {
        e = parseExpression(inner);
      } catch (err) {
        if (!(err instanceof ExpressionError)) throw err;
        y.problem(node, `bad expression in ${scope.what}: ${err.message}`, shift + err.at);
        return undefined;
      }
    }
    if (!this.checkRefs(e, node, scope)) return undefined;
    return usesStatus(e) ? e : { op: "&&", args: [{ fn: "success" }, e] };
  }

  private template(node: Node | null, what: string, scope: Scope): Template | undefined {
    const y = this.y;
    if (node === null || (isScalarNode(node) && node.value === null)) return [];
    const text = y.text(node, what);
    if (text === undefined) return undefined;
    let t: Template;
    try {
      t = parseTemplate(text);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      y.problem(node, `bad expression in ${what}: ${err.message}`, err.at);
      return undefined;
    }
    if (t.some((p) => typeof p !== "string" && usesStatus(p))) {
      y.problem(node, `${what}: success(), failure() and always() belong in \`if:\``);
      return undefined;
    }
    return this.checkRefs(t, node, { ...scope, what }) ? t : undefined;
  }

  /** Every name used must exist where it is used; reports each that does not. */
  private checkRefs(e: Expr | Template, node: Node, scope: Scope): boolean {
    let ok = true;
    const bad = (msg: string) => {
      this.y.problem(node, `${scope.what}: ${msg}`);
      ok = false;
    };
    for (const ref of references(e)) {
      const name = ref.join(".");
      const [ctx, a, b, c] = ref;
      if (ctx === "steps") {
        if (ref.length !== 4 || b !== "outputs") bad(`'${name}': write steps.<id>.outputs.<name>`);
        else if (scope.steps === null) bad(`'${name}': there are no steps here (use needs.<job>.outputs.<name>)`);
        else if (!scope.steps.has(a!))
          bad(
            `'${name}': no step with id '${a}' before this one${scope.steps.size ? ` (earlier ids: ${[...scope.steps].join(", ")})` : ""}`,
          );
      } else if (ctx === "needs") {
        if (ref.length !== 4 || b !== "outputs") bad(`'${name}': write needs.<job>.outputs.<name>`);
        else if (scope.needs === null || !scope.needs.has(a!))
          bad(`'${name}': job '${a}' is not in this job's needs${scope.needs?.size ? ` (${[...scope.needs.keys()].join(", ")})` : ""}`);
        else if (!scope.needs.get(a!)!.has(c!)) bad(`'${name}': job '${a}' declares no output '${c}' under its \`outputs:\``);
      } else if (ctx === "env") {
        if (ref.length !== 2) bad(`'${name}': write env.<name>`);
        else if (!scope.env.has(a!)) bad(`'${name}': no env '${a}' is set at this level or above (or with --env)`);
      } else if (ctx === "inputs") {
        if (ref.length !== 2) bad(`'${name}': write inputs.<name>`);
        else if (!this.inputNames.has(a!)) bad(`'${name}': the pipeline declares no input '${a}' under \`inputs:\``);
      } else {
        bad(`unknown name '${name}': use steps.<id>.outputs.<name>, needs.<job>.outputs.<name>, env.<name> or inputs.<name>`);
      }
    }
    return ok;
  }

  /** Jobs in dependency order; a cycle is a problem at each job on it. */
  private order(jobs: JobDef[], ids: string[], needsNodes: Map<string, Node>): JobDef[] | undefined {
    const byId = new Map(jobs.map((j) => [j.id, j]));
    const state = new Map<string, "visiting" | "done">();
    const out: JobDef[] = [];
    let cyclic = false;
    const visit = (id: string, path: string[]) => {
      const s = state.get(id);
      if (s === "done") return;
      if (s === "visiting") {
        const cycle = [...path.slice(path.indexOf(id)), id];
        const from = cycle[cycle.length - 2]!;
        this.y.problem(needsNodes.get(`${from}>${id}`), `the needs of jobs form a cycle: ${cycle.join(" -> ")}`);
        cyclic = true;
        return;
      }
      state.set(id, "visiting");
      for (const n of this.needsOf.get(id) ?? []) visit(n, [...path, id]);
      state.set(id, "done");
      const job = byId.get(id);
      if (job) out.push(job);
    };
    for (const id of ids) visit(id, []);
    return cyclic ? undefined : out;
  }
}
