// The parsed form of a pipeline YAML file: what `dwe pipeline` pins as the run's input and what the
// pipeline workflow (guest-sdk/pipeline) executes. Expressions arrive parsed (ASTs), so the guest
// only evaluates them; names were checked on the host. The format is versioned: a run keeps the
// definition (and the module) it started with, so a change here needs a new PIPELINE_FORMAT.

export const PIPELINE_FORMAT = 1;

export type Literal = string | number | boolean | null;

/** An expression: a literal, a context reference, a status function, or an operator. */
export type Expr =
  | { lit: Literal }
  /** `steps.<id>.outputs.<name>`, `needs.<job>.outputs.<name>`, `env.<name>`, `inputs.<name>`. */
  | { ref: string[] }
  | { fn: StatusFunction }
  | { op: "!"; args: [Expr] }
  | { op: BinaryOp; args: [Expr, Expr] };

export type StatusFunction = "success" | "failure" | "always";
export type BinaryOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||";

/** Text with `${{ }}` expressions: literal parts are strings, expressions are Expr objects. */
export type Template = (string | Expr)[];

export interface StepDef {
  /** Shown in logs: `name`, else `id`, else the step's number in its job (from 1). */
  name: string;
  id: string | null;
  run: Template;
  /** The program and its arguments; the script is appended as the last argument. */
  shell: string[];
  env: Record<string, Template>;
  working_directory: Template | null;
  timeout_ms: number;
  retry: { attempts: number; backoff_ms: number };
  if: Expr;
  continue_on_error: boolean;
  /** Line of the step in the YAML file (for messages). */
  line: number;
}

export interface JobDef {
  id: string;
  name: string;
  needs: string[];
  if: Expr;
  env: Record<string, Template>;
  steps: StepDef[];
  outputs: Record<string, Template>;
  continue_on_error: boolean;
  /** Budget for all of the job's steps together (null: none). */
  timeout_ms: number | null;
}

export interface PipelineDef {
  format: typeof PIPELINE_FORMAT;
  name: string;
  /** The YAML file it was parsed from (as given on the command line). */
  source: string;
  /** Pipeline-level env, with the run's `--env` values beneath it. */
  env: Record<string, Template>;
  /** `inputs.<name>`: declared defaults overridden by `--input`. */
  inputs: Record<string, Literal>;
  /** Default working directory of steps (the first `--dir` grant's guest path), or null. */
  workspace: string | null;
  /** In an order where every job comes after the jobs it needs. */
  jobs: JobDef[];
}
