import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { UsageError } from "../../kernel/errors.js";
import { installDir } from "../../runtime/install-dir.js";
import { parseDirGrant } from "../../kernel/grants.js";
import { EXIT } from "./context.js";
import { parseEnv } from "./options.js";
import { compilePipeline } from "../../pipeline/compile.js";
import { runCommand, type RunFlags } from "./run.js";
import { reportError } from "./report.js";

/** The pipeline workflow that ships with dwe (guest-sdk/pipeline, built at install like the examples). */
export const PIPELINE_WASM = join(installDir(), "guest-sdk", "pipeline", "build", "pipeline.wasm");

/**
 * `dwe pipeline FILE.yaml [run flags]`: parses and checks the YAML here, then starts a run of the
 * pipeline workflow with the parsed definition pinned as its input (docs/pipelines.md). Nothing is
 * written when the file has a problem.
 */
export async function pipelineCommand(file: string, flags: RunFlags): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `cannot read pipeline '${file}': ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  if (!existsSync(PIPELINE_WASM)) {
    throw new UsageError(`the pipeline workflow is not built (${PIPELINE_WASM}); run \`npm run build:examples\` in the dwe package`);
  }
  const inputs = pipelineInputs(flags.input);
  const result = compilePipeline(text, {
    source: file,
    runEnv: parseEnv(flags.env),
    inputs,
    workspace: firstGuestDir(flags.dir),
  });
  if (!result.ok) {
    for (const p of result.problems) {
      reportError("invalid_pipeline", `${p.line > 0 ? `${file}:${p.line}:${p.col}: ` : ""}${p.message}`, flags.json === true);
    }
    return EXIT.error;
  }
  const { input: _input, entry: _entry, ...rest } = flags;
  return runCommand(PIPELINE_WASM, [], { ...rest, name: flags.name ?? basename(file), input: JSON.stringify(result.def), entry: "run" });
}

/** `--input` of a pipeline: a JSON object of input values. */
function pipelineInputs(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let text = value;
  if (value.startsWith("@")) {
    try {
      text = readFileSync(value.slice(1), "utf8");
    } catch (err) {
      throw new UsageError(`cannot read --input file '${value.slice(1)}': ${(err as Error).message}`);
    }
  } else if (value === "-") text = readFileSync(0, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--input of a pipeline must be a JSON object of its inputs, such as '{"target": "staging"}'`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new UsageError(`--input of a pipeline must be a JSON object of its inputs, such as '{"target": "staging"}'`);
  return parsed as Record<string, unknown>;
}

/** The guest path of the first `--dir` grant: where steps run unless they say otherwise. */
function firstGuestDir(dirs: string[] | undefined): string | null {
  const spec = dirs?.[0];
  return spec === undefined ? null : parseDirGrant(spec, process.cwd()).guest;
}
