import { randomBytes } from "node:crypto";
import { UsageError } from "../kernel/errors.js";

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkRunId(id: string): string {
  if (!ID_RE.test(id))
    throw new UsageError(`bad run id '${id}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return id;
}

export function newRunId(): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  return Array.from(randomBytes(12), (b) => alphabet[b % 36]).join("");
}
