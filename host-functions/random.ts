import { randomFillSync } from "node:crypto";
import type { HostFunction } from "../engine/kernel/host-function.js";
import { RequestFields } from "./request-fields.js";

export const MAX_RANDOM_BYTES = 65536;

/** `random.bytes`: cryptographically random bytes, recorded so a replay sees the same values. */
export const randomBytes: HostFunction<number> = {
  name: "random.bytes",
  kind: "read",
  parse(request) {
    return new RequestFields("random.bytes", request).uint("len", MAX_RANDOM_BYTES);
  },
  perform(_ctx, len) {
    return randomFillSync(new Uint8Array(len));
  },
};
