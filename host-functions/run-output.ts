import { BadRequest, OutputTooLarge } from "../engine/kernel/errors.js";
import type { HostFunction } from "../engine/kernel/host-function.js";

/** Largest run output (`run.output`) a guest may set: 16 MiB (docs/abi.md). */
export const MAX_RUN_OUTPUT = 16 * 1024 * 1024;

function bounded(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_RUN_OUTPUT) throw new OutputTooLarge(bytes.length, MAX_RUN_OUTPUT);
  return bytes;
}

/** `run.output`: sets the run's output. Journaled so that a resumed run ends with the same output. */
export const runOutput: HostFunction<Uint8Array> = {
  name: "run.output",
  kind: "note",
  parse(request) {
    if (request instanceof Uint8Array) return bounded(request);
    if (typeof request === "string") return bounded(new TextEncoder().encode(request));
    if (request === null || request === undefined) return new Uint8Array(0);
    throw new BadRequest("run.output", "expected bytes or a string");
  },
  perform(ctx, output) {
    ctx.setOutput(output);
    return undefined;
  },
  replay(ctx, output) {
    ctx.setOutput(output);
  },
};
