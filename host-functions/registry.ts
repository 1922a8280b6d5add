import type { HostFunction } from "../engine/kernel/host-function.js";
import { runOutput } from "./run-output.js";
import { log } from "./log.js";
import { clockNow } from "./clock.js";
import { randomBytes } from "./random.js";
import { sleep } from "./sleep.js";
import { httpRequest } from "./http.js";
import { exec } from "./shell.js";
import { fsAppend, fsList, fsRead, fsRemove, fsStat, fsWrite } from "./fs.js";
import { signalWait } from "./signal.js";
import { childJoin, childStart } from "./child.js";

/** Every journaled operation of the `dwe` import module, by name. */
export const HOST_FUNCTIONS: ReadonlyMap<string, HostFunction<never>> = new Map(
  (
    [
      runOutput,
      log,
      clockNow,
      randomBytes,
      sleep,
      httpRequest,
      exec,
      fsRead,
      fsWrite,
      fsAppend,
      fsList,
      fsStat,
      fsRemove,
      signalWait,
      childStart,
      childJoin,
    ] as HostFunction<never>[]
  ).map((f) => [f.name, f]),
);
