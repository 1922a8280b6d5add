import type { HostFunction } from "../engine/kernel/host-function.js";

/** `clock.now`: wall-clock milliseconds since the epoch, recorded so a replay sees the same time. */
export const clockNow: HostFunction<null> = {
  name: "clock.now",
  kind: "read",
  parse() {
    return null;
  },
  perform() {
    return BigInt(Date.now());
  },
};
