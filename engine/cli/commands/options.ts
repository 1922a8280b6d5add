import { readFileSync } from "node:fs";
import { UsageError } from "../../kernel/errors.js";
import type { Grants } from "../../kernel/grants.js";
import { resolveGrants } from "../../api/grant-spec.js";

/** Commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface GrantFlags {
  dir?: string[];
  allowNet?: string[];
  allowShell?: string | boolean;
  allowEnvOverride?: string[];
}

/** The grants of the flags; refused when one would expose dwe's own files for the database `db`. */
export function grantsFromFlags(flags: GrantFlags, cwd: string, db: string): Grants {
  return resolveGrants({ dirs: flags.dir, net: flags.allowNet, shell: flags.allowShell, envOverride: flags.allowEnvOverride }, cwd, db);
}

export { checkRunId, newRunId } from "../../api/run-id.js";

/** `--input`: the text itself, `@FILE` for a file's bytes, or `-` for standard input. */
export function readInput(value: string | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (value === "-") return new Uint8Array(readFileSync(0));
  if (value.startsWith("@")) {
    try {
      return new Uint8Array(readFileSync(value.slice(1)));
    } catch (err) {
      throw new UsageError(`cannot read --input file '${value.slice(1)}': ${(err as Error).message}`);
    }
  }
  return new TextEncoder().encode(value);
}

export function parseEnv(pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`bad --env '${p}': expected NAME=VALUE`);
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
}

export function parsePositiveInt(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`bad ${flag} '${value}': expected a positive whole number`);
  }
  return Number(value);
}

/** `--max-memory`: bytes with an optional K, M or G suffix (powers of 1024); a bare number is MiB. */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`bad ${flag} '${value}': expected a size such as 64M or 1G`);
  const unit = (m[2] ?? "M")[0]!.toUpperCase();
  const n = Number(m[1]) * (unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : 1024 ** 3);
  if (n < 65536 || n > 4 * 1024 ** 3) throw new UsageError(`bad ${flag} '${value}': must be between 64K and 4G`);
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A time flag: an ISO 8601 date (`2026-12-01`, `2026-12-01T09:00:00Z`) or a duration ago (`90s`, `30m`, `2h`, `7d`, `1w`). */
export function parseTime(value: string, flag: string, now: number): number {
  const ago = /^(\d+)([smhdw])$/.exec(value.trim());
  const unit = ago ? UNIT_MS[ago[2] ?? ""] : undefined;
  if (ago && unit !== undefined) return now - Number(ago[1]) * unit;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw new UsageError(
      `bad ${flag} '${value}': give a date such as 2026-12-01 or 2026-12-01T09:00:00Z, or a duration ago such as 30m, 2h or 7d`,
    );
  }
  return t;
}

/** `--from SEQ` (`dwe journal`, `dwe retry`): a journal seq, a whole number from 1. */
export function parseSeq(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1)
    throw new UsageError(`bad --from '${text}': expected a journal seq, a whole number from 1`);
  return Number(text);
}
