// How the crash tests (core-crash, the chaos harness) start a run of the effects example: the grants
// it needs (a shell, the `files` directory, HTTP to 127.0.0.1) and its input, written once.

/** The effects example's input: `n` steps, each appending to `file` (under files/) and POSTing to `url`. */
export interface EffectsInput {
  n: number;
  file: string;
  url: string;
}

/** `--id ID`, the effects example's grants and `--input`, for `dwe run` or `dwe start` after the module. */
export function effectsRunFlags(id: string, input: EffectsInput): string[] {
  return ["--id", id, "--allow-shell", "--dir", "files", "--allow-net", "127.0.0.1", "--input", JSON.stringify(input)];
}
