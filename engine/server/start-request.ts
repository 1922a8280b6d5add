// The bodies of `POST /api/runs` and `POST /api/schedules` (docs/http-api.md) as library calls.
import type { GrantSpec, ModuleSource, ScheduleOptions, StartOptions } from "../api/types.js";
import { badRequest } from "./http-error.js";
import { type JsonObject, object, onlyFields, optBool, optInt, optString, optStringMap, optStrings } from "./fields.js";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `module`: a stored module's sha256 (a string or `{sha256, name}`), or uploaded bytes `{base64, name}`. */
export function moduleSource(v: unknown): ModuleSource {
  if (typeof v === "string") return { sha256: v.toLowerCase() };
  const m = object(v ?? null, '\'module\' (a sha256, {"sha256": …} or {"base64": …, "name": …})');
  onlyFields(m, ["sha256", "base64", "name"], "'module'");
  const name = optString(m, "name");
  const sha256 = optString(m, "sha256");
  const base64 = optString(m, "base64");
  if ((sha256 === undefined) === (base64 === undefined))
    throw badRequest("'module' needs exactly one of 'sha256' (a stored module) or 'base64' (its bytes)");
  if (sha256 !== undefined) return { sha256: sha256.toLowerCase(), ...(name !== undefined && { name }) };
  const text = (base64 ?? "").replace(/\s+/g, "");
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw badRequest("'module.base64' is not valid base64");
  return { bytes: new Uint8Array(Buffer.from(text, "base64")), ...(name !== undefined && { name }) };
}

/** `grants` of a body (POST /api/runs, /api/schedules, /api/runs/ID/retry) as the API's spec. */
export function grants(v: unknown): GrantSpec | undefined {
  if (v === undefined || v === null) return undefined;
  const g = object(v, "'grants'");
  onlyFields(g, ["dirs", "net", "shell", "env_override"], "'grants'");
  const shell = g.shell;
  if (
    shell !== undefined &&
    shell !== null &&
    typeof shell !== "boolean" &&
    !(Array.isArray(shell) && shell.every((x) => typeof x === "string"))
  ) {
    throw badRequest("'grants.shell' must be true (any program), false, or an array of program names");
  }
  const dirs = optStrings(g, "dirs");
  const net = optStrings(g, "net");
  const envOverride = optStrings(g, "env_override");
  return {
    ...(dirs && { dirs }),
    ...(net && { net }),
    ...(shell !== undefined && shell !== null && { shell }),
    ...(envOverride && { envOverride }),
  };
}

const START_FIELDS = [
  "module",
  "id",
  "name",
  "input",
  "entry",
  "args",
  "env",
  "grants",
  "timeout_ms",
  "max_memory_bytes",
  "max_journal_entries",
  "max_journal_bytes",
  "detach",
];

/** `POST /api/runs`: the module and the options of `dwe.start`; `detach` defaults to true (a worker executes the run). */
export function startRequest(body: unknown): { module: ModuleSource; options: StartOptions } {
  const b: JsonObject = object(body ?? null, "the body of POST /api/runs");
  onlyFields(b, START_FIELDS, "the body of POST /api/runs");
  if (b.module === undefined) throw badRequest('\'module\' is missing: give a stored module\'s sha256, or {"base64": …, "name": …}');
  const id = optString(b, "id");
  const name = optString(b, "name");
  const entry = optString(b, "entry");
  const args = optStrings(b, "args");
  const env = optStringMap(b, "env");
  const g = grants(b.grants);
  const timeoutMs = optInt(b, "timeout_ms");
  const maxMemoryBytes = optInt(b, "max_memory_bytes");
  const maxJournalEntries = optInt(b, "max_journal_entries");
  const maxJournalBytes = optInt(b, "max_journal_bytes");
  const detach = optBool(b, "detach") ?? true;
  return {
    module: moduleSource(b.module),
    options: {
      ...(id !== undefined && { id }),
      ...(name !== undefined && { name }),
      ...(b.input !== undefined && { input: b.input }),
      ...(entry !== undefined && { entry }),
      ...(args && { args }),
      ...(env && { env }),
      ...(g && { grants: g }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(maxMemoryBytes !== undefined && { maxMemoryBytes }),
      ...(maxJournalEntries !== undefined && { maxJournalEntries }),
      ...(maxJournalBytes !== undefined && { maxJournalBytes }),
      detach,
    },
  };
}

const SCHEDULE_FIELDS = ["name", "cron", "tz", "module", "input", "entry", "grants", "timeout_ms", "max_memory_bytes"];

/** `POST /api/schedules`: `dwe schedule add NAME --cron EXPR MODULE …` as JSON. */
export function scheduleRequest(body: unknown): { name: string; module: ModuleSource; options: ScheduleOptions } {
  const b = object(body ?? null, "the body of POST /api/schedules");
  onlyFields(b, SCHEDULE_FIELDS, "the body of POST /api/schedules");
  const name = optString(b, "name");
  const cron = optString(b, "cron");
  if (name === undefined || cron === undefined || b.module === undefined) throw badRequest("'name', 'cron' and 'module' are required");
  const tz = optString(b, "tz");
  const entry = optString(b, "entry");
  const g = grants(b.grants);
  const timeoutMs = optInt(b, "timeout_ms");
  const maxMemoryBytes = optInt(b, "max_memory_bytes");
  return {
    name,
    module: moduleSource(b.module),
    options: {
      cron,
      ...(tz !== undefined && { tz }),
      ...(b.input !== undefined && { input: b.input }),
      ...(entry !== undefined && { entry }),
      ...(g && { grants: g }),
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(maxMemoryBytes !== undefined && { maxMemoryBytes }),
    },
  };
}
