import { UsageError } from "../kernel/errors.js";
import {
  type Grants,
  checkProgramsOutsideWritableDirs,
  parseDirGrant,
  parseEnvOverride,
  parseNetGrants,
  parseShellGrant,
} from "../kernel/grants.js";
import { refuseGrantsOverDweFiles } from "../executor/dwe-files.js";
import type { GrantSpec } from "./types.js";

/**
 * The grants a spec asks for (the CLI's grant flags, spelled as data), with relative directories
 * resolved against `cwd`; refused when one would expose dwe's own files for the database `db`.
 */
export function resolveGrants(spec: GrantSpec, cwd: string, db: string): Grants {
  const shell = Array.isArray(spec.shell) ? spec.shell.join(",") : spec.shell;
  if (typeof shell === "string" && shell.endsWith(".wasm")) {
    throw new UsageError(`--allow-shell took '${shell}' as a program list; put the module path first, or write --allow-shell=PROGRAMS`);
  }
  const envOverride = parseEnvOverride(spec.envOverride);
  if (envOverride.length > 0 && (shell === undefined || shell === false)) {
    throw new UsageError("--allow-env-override only applies to commands: add --allow-shell, or drop it");
  }
  const grants: Grants = {
    dirs: (spec.dirs ?? []).map((d) => parseDirGrant(d, cwd)),
    net: (spec.net ?? []).flatMap((n) => parseNetGrants(n)),
    shell: parseShellGrant(shell),
    ...(envOverride.length > 0 && { envOverride }),
  };
  refuseGrantsOverDweFiles(grants, db);
  checkProgramsOutsideWritableDirs(grants);
  return grants;
}
