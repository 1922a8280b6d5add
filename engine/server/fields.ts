// Reading fields of a JSON request body: every field checked for its type, unknown fields refused,
// each problem one 400 naming the field.
import { badRequest } from "./http-error.js";

export type JsonObject = Record<string, unknown>;

export function object(v: unknown, what: string): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest(`${what} must be a JSON object`);
  return v as JsonObject;
}

/** Refuses fields the endpoint does not know (a typo would otherwise be ignored silently). */
export function onlyFields(o: JsonObject, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw badRequest(`unknown field '${k}' in ${what}; known fields: ${allowed.join(", ")}`);
  }
}

export function optString(o: JsonObject, k: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw badRequest(`'${k}' must be a string`);
  return v;
}

export function optInt(o: JsonObject, k: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw badRequest(`'${k}' must be a whole number`);
  return v;
}

export function optBool(o: JsonObject, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw badRequest(`'${k}' must be true or false`);
  return v;
}

export function optStrings(o: JsonObject, k: string): string[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === "string")) throw badRequest(`'${k}' must be an array of strings`);
  return v;
}

export function optStringMap(o: JsonObject, k: string): Record<string, string> | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  const m = object(v, `'${k}'`);
  for (const [name, x] of Object.entries(m)) if (typeof x !== "string") throw badRequest(`'${k}.${name}' must be a string`);
  return m as Record<string, string>;
}
