import { decodeMsgpack, FILE_LIMITS } from "../kernel/msgpack-decoder.js";
import { NO_GRANTS } from "../kernel/grants.js";
import type { RunConfig } from "./types.js";

/**
 * A run's config as stored (`runs.config`, MessagePack), checked field by field: a row written by
 * a bug, an old dwe or a hand-made import must fail its own run, never a claim of other runs or a
 * listing (docs/reliability.md, "Rows that cannot be decoded").
 */
export interface DecodedConfig {
  config: RunConfig;
  /** What is wrong with the stored config; `config` is then the no-grants default, never executed. */
  problem: string | null;
}

const SAFE: RunConfig = { grants: NO_GRANTS, args: [], env: {}, timeoutMs: null, maxMemoryBytes: null };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
const isLimit = (v: unknown) => v === null || (typeof v === "number" && Number.isSafeInteger(v) && v > 0);

/** Why `v` is not a RunConfig, or null when it is one. */
export function runConfigProblem(v: unknown): string | null {
  if (!isObject(v)) return "is not a map";
  const g = v.grants;
  if (!isObject(g) || !Array.isArray(g.dirs) || !Array.isArray(g.net)) return "has no valid grants";
  for (const d of g.dirs as unknown[]) {
    if (!isObject(d) || typeof d.host !== "string" || !d.host.startsWith("/") || typeof d.guest !== "string" || !d.guest.startsWith("/")) {
      return "has a malformed --dir grant";
    }
    if (typeof d.readonly !== "boolean") return "has a malformed --dir grant";
  }
  for (const n of g.net as unknown[]) {
    if (!isObject(n) || typeof n.host !== "string" || !(n.port === null || (typeof n.port === "number" && Number.isInteger(n.port)))) {
      return "has a malformed --allow-net grant";
    }
  }
  // A program list: {name, path} entries; bare names are what an older dwe stored (they grant nothing now).
  const isProgram = (p: unknown) =>
    typeof p === "string" || (isObject(p) && typeof p.name === "string" && typeof p.path === "string" && p.path.startsWith("/"));
  if (typeof g.shell !== "boolean" && !(Array.isArray(g.shell) && g.shell.every(isProgram))) return "has a malformed --allow-shell grant";
  if (g.envOverride !== undefined && !isStrings(g.envOverride)) return "has a malformed --allow-env-override grant";
  if (!isStrings(v.args)) return "has malformed args";
  if (!isObject(v.env) || !Object.values(v.env).every((s) => typeof s === "string")) return "has a malformed env";
  if (!isLimit(v.timeoutMs)) return "has a malformed timeout";
  if (!isLimit(v.maxMemoryBytes)) return "has a malformed memory limit";
  if (v.maxJournalEntries !== undefined && !isLimit(v.maxJournalEntries)) return "has a malformed journal entry limit";
  if (v.maxJournalBytes !== undefined && !isLimit(v.maxJournalBytes)) return "has a malformed journal byte limit";
  const c = v.childLimits;
  if (c !== undefined && (!isObject(c) || !isCount(c.children) || !isCount(c.descendants) || !isCount(c.depth))) {
    return "has malformed child limits";
  }
  if (v.argv0 !== undefined && typeof v.argv0 !== "string") return "has a malformed argv0";
  const f = v.forkedFrom;
  if (
    f !== undefined &&
    (!isObject(f) || typeof f.run !== "string" || typeof f.seq !== "number" || !Number.isSafeInteger(f.seq) || f.seq < 0)
  ) {
    return "has a malformed forkedFrom";
  }
  return null;
}

export function decodeRunConfig(bytes: Uint8Array): DecodedConfig {
  let v: unknown;
  try {
    v = decodeMsgpack(bytes, FILE_LIMITS);
  } catch (err) {
    return { config: SAFE, problem: `is not valid MessagePack (${(err as Error).message})` };
  }
  const problem = runConfigProblem(v);
  return problem === null ? { config: v as RunConfig, problem } : { config: SAFE, problem };
}
