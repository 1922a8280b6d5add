import type { HostFunction } from "./types.js";
import { BadRequest } from "./request-fields.js";

/** `run.output`: sets the run's output. Journaled so that a resumed run ends with the same output. */
export const runOutput: HostFunction<Uint8Array> = {
  name: "run.output",
  kind: "note",
  parse(request) {
    if (request instanceof Uint8Array) return request;
    if (typeof request === "string") return new TextEncoder().encode(request);
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
