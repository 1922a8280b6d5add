import { accessSync, constants, realpathSync, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve, posix, sep } from "node:path";
import { UsageError } from "./errors.js";

/** A host directory made visible to the guest at a guest path. */
export interface DirGrant {
  /** Absolute host path. */
  host: string;
  /** Absolute guest path (POSIX). */
  guest: string;
  readonly: boolean;
}

export interface NetGrant {
  host: string;
  /** null: any port. */
  port: number | null;
}

/** A program granted by name: the absolute path it resolved to on the host's PATH when it was granted. */
export interface ProgramGrant {
  name: string;
  path: string;
}

/** Capabilities of a run: deny by default; stored with the run and used by every resume. */
export interface Grants {
  dirs: DirGrant[];
  net: NetGrant[];
  /** false: no exec; true: any program; a list: only these programs, each fixed to its path. */
  shell: boolean | ProgramGrant[];
  /**
   * Environment variables of EXEC_PROTECTED_ENV (host-functions/exec-env.ts) that the guest may
   * nevertheless set for its commands (`--allow-env-override`); absent in runs of older dwe: none.
   */
  envOverride?: string[];
}

export const NO_GRANTS: Grants = { dirs: [], net: [], shell: false };

/**
 * Parses `HOST[:GUEST][:ro]`, or wasmtime's `HOST::GUEST[:ro]` (the way to grant a host path that
 * contains ':'); a relative HOST is taken from `cwd`. The host path must be an existing directory:
 * a typo is refused here, before a run is made, not found by the guest later.
 */
export function parseDirGrant(spec: string, cwd: string): DirGrant {
  const sep = spec.indexOf("::");
  const hostRaw = sep >= 0 ? spec.slice(0, sep) : spec.split(":")[0]!;
  const parts = sep >= 0 ? ["", ...spec.slice(sep + 2).split(":")] : spec.split(":");
  let readonly = false;
  if (parts.length > 1 && parts[parts.length - 1] === "ro") {
    readonly = true;
    parts.pop();
  }
  if (parts.length > 2 || hostRaw === "" || parts.slice(1).some((p) => p === "")) {
    throw new UsageError(`bad --dir '${spec}': expected HOST[:GUEST][:ro] or HOST::GUEST, for example --dir ./data:/data`);
  }
  const host = resolve(cwd, hostRaw);
  const guestRaw = parts[1] ?? host;
  if (!guestRaw.startsWith("/")) {
    throw new UsageError(`bad --dir '${spec}': the guest path '${guestRaw}' must be absolute, for example /data`);
  }
  let stat;
  try {
    stat = statSync(host);
  } catch {
    throw new UsageError(
      `bad --dir '${spec}': ${host} does not exist; create it or fix the path (a host path with ':' is written HOST::GUEST)`,
    );
  }
  if (!stat.isDirectory()) throw new UsageError(`bad --dir '${spec}': ${host} is not a directory; grant the directory that holds it`);
  return { host, guest: posix.normalize(guestRaw), readonly };
}

/** Parses `HOST[:PORT],HOST[:PORT]…`; IPv6 addresses go in brackets: `[::1]:8080`. */
export function parseNetGrants(spec: string): NetGrant[] {
  const out: NetGrant[] = [];
  for (const raw of spec.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_*]+)(?::(\d{1,5}))?$/.exec(item);
    if (!m) throw new UsageError(`bad --allow-net entry '${item}': expected HOST or HOST:PORT, for example 127.0.0.1:8080`);
    const port = m[2] === undefined ? null : Number(m[2]);
    if (port !== null && (port < 1 || port > 65535)) throw new UsageError(`bad port in --allow-net '${item}': use 1-65535`);
    out.push({ host: m[1]!.replace(/^\[|\]$/g, "").toLowerCase(), port });
  }
  if (out.length === 0) throw new UsageError("--allow-net needs at least one host, for example --allow-net 127.0.0.1");
  return out;
}

/**
 * Parses `--allow-shell [PROG,…]`. Each listed program is looked up now on the host's PATH (`path`,
 * never anything a guest sets) and fixed to the absolute path found: the run executes exactly that
 * file, on every resume and on any worker.
 */
export function parseShellGrant(spec: string | boolean | undefined, path = process.env.PATH ?? ""): boolean | ProgramGrant[] {
  if (spec === undefined || spec === false) return false;
  if (spec === true) return true;
  const names = spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0) return true;
  const out: ProgramGrant[] = [];
  for (const n of names) {
    if (n.includes("/")) throw new UsageError(`bad --allow-shell entry '${n}': name programs without a path, e.g. --allow-shell sh,git`);
    const found = findOnPath(n, path);
    if (found === null)
      throw new UsageError(`--allow-shell ${n}: no executable '${n}' on PATH (${path || "empty"}); install it or fix PATH`);
    if (!out.some((p) => p.name === n)) out.push({ name: n, path: found });
  }
  return out;
}

/** The first executable regular file called `name` in the directories of `path` (absolute ones only), or null. */
export function findOnPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === "" || !isAbsolute(dir)) continue; // a relative PATH entry would depend on the working directory
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * Refuses a program list whose programs a writable directory grant could replace: the guest would
 * write its own code in place of the granted program.
 */
export function checkProgramsOutsideWritableDirs(grants: Grants): void {
  if (!Array.isArray(grants.shell)) return;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  for (const prog of grants.shell) {
    const file = real(prog.path);
    for (const d of grants.dirs) {
      if (d.readonly) continue;
      const root = real(d.host);
      if (file === root || file.startsWith(root.endsWith(sep) ? root : root + sep)) {
        throw new UsageError(
          `--allow-shell ${prog.name}: ${file} is inside the writable grant --dir ${d.host}, so the guest could replace it; grant that directory :ro or use a program installed elsewhere`,
        );
      }
    }
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses `--allow-env-override NAME,…`: exact variable names. */
export function parseEnvOverride(specs: string[] | undefined): string[] {
  const out: string[] = [];
  for (const spec of specs ?? []) {
    for (const raw of spec.split(",")) {
      const n = raw.trim();
      if (n === "") continue;
      if (!ENV_NAME.test(n)) throw new UsageError(`bad --allow-env-override entry '${n}': expected a variable name such as PATH`);
      if (!out.includes(n)) out.push(n);
    }
  }
  return out;
}

export function netAllowed(grants: Grants, host: string, port: number): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return grants.net.some((g) => (g.host === h || g.host === "*") && (g.port === null || g.port === port));
}

/**
 * The program a list grant fixed for `name` (argv[0]): argv[0] must be one of the names exactly, not a
 * path (`/tmp/x/git` is not `git`, whatever its basename). Undefined when not granted.
 */
export function grantedProgram(grants: Grants, name: string): ProgramGrant | undefined {
  if (!Array.isArray(grants.shell) || name.includes("/")) return undefined;
  // Entries of runs granted by an older dwe are bare names with no fixed path: not granted any more.
  return grants.shell.find((p) => typeof p === "object" && p.name === name);
}

/** True when `wider` grants something `narrower` does not. */
export function widens(narrower: Grants, wider: Grants): string[] {
  const extra: string[] = [];
  for (const d of wider.dirs) {
    const same = narrower.dirs.find((n) => n.host === d.host && n.guest === d.guest);
    if (!same || (same.readonly && !d.readonly)) extra.push(`--dir ${d.host}:${d.guest}${d.readonly ? ":ro" : ""}`);
  }
  for (const n of wider.net) {
    if (!narrower.net.some((g) => g.host === n.host && (g.port === null || g.port === n.port))) {
      extra.push(`--allow-net ${n.host}${n.port === null ? "" : `:${n.port}`}`);
    }
  }
  if (wider.shell !== false) {
    if (narrower.shell === false) extra.push("--allow-shell");
    else if (narrower.shell !== true) {
      if (wider.shell === true) extra.push("--allow-shell (any program)");
      else {
        const had = narrower.shell;
        // The same name at another path is another program.
        for (const p of wider.shell)
          if (!had.some((h) => h.name === p.name && h.path === p.path)) extra.push(`--allow-shell ${p.name} (${p.path})`);
      }
    }
  }
  for (const n of wider.envOverride ?? []) if (!(narrower.envOverride ?? []).includes(n)) extra.push(`--allow-env-override ${n}`);
  return extra;
}

export function describeGrants(g: Grants): string[] {
  const lines: string[] = [];
  for (const d of g.dirs) lines.push(`dir ${d.host} -> ${d.guest}${d.readonly ? " (read-only)" : ""}`);
  for (const n of g.net) lines.push(`net ${n.host}${n.port === null ? "" : `:${n.port}`}`);
  if (g.shell === true) lines.push("shell (any program)");
  else if (Array.isArray(g.shell)) {
    // A bare name is what an older dwe stored: it has no fixed path and grants nothing now.
    const shown = g.shell.map((p: ProgramGrant | string) =>
      typeof p === "string" ? `${p} (no fixed path: grant it again)` : `${p.name} (${p.path})`,
    );
    lines.push(`shell ${shown.join(", ")}`);
  }
  if (g.envOverride?.length) lines.push(`env override ${g.envOverride.join(",")}`);
  return lines;
}

/** A word for a shell command line: quoted unless it is plainly safe. */
const shellWord = (w: string) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);

/** The grant flags that give exactly `g` (what `dwe import` tells the user to confirm). */
export function grantFlags(g: Grants): string[] {
  const flags: string[] = [];
  for (const d of g.dirs) flags.push("--dir", shellWord(`${d.host}:${d.guest}${d.readonly ? ":ro" : ""}`));
  for (const n of g.net) {
    const host = n.host.includes(":") ? `[${n.host}]` : n.host;
    flags.push("--allow-net", shellWord(n.port === null ? host : `${host}:${n.port}`));
  }
  if (g.shell === true) flags.push("--allow-shell");
  else if (Array.isArray(g.shell)) {
    flags.push(shellWord(`--allow-shell=${g.shell.map((p: ProgramGrant | string) => (typeof p === "string" ? p : p.name)).join(",")}`));
  }
  if (g.envOverride?.length) flags.push("--allow-env-override", shellWord(g.envOverride.join(",")));
  return flags;
}
