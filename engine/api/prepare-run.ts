import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { RunStateError, UsageError } from "../kernel/errors.js";
import { checkMemoryFits, chooseEntry, inspectModule } from "../runtime/module-loader.js";
import { type ChildLimits, DEFAULT_CHILD_LIMITS } from "../store/child-limits.js";
import { type Lease, type ModuleKind, type NewRun, type Store, isTerminal } from "../store/types.js";
import { checkRunId, newRunId } from "./run-id.js";
import { resolveGrants } from "./grant-spec.js";
import { fileProblem } from "./file-problem.js";
import type { ModuleSource, StartOptions } from "./types.js";

/** A module read and checked: its bytes, what it is, and the name messages use. */
export interface ModuleFile {
  bytes: Uint8Array;
  /** The path as given, or the name given with the bytes. */
  name: string;
  sha256: string;
  kind: ModuleKind;
}

/** A run checked in full and ready to be written: nothing about it can be refused but its id. */
export interface PreparedRun {
  module: ModuleFile;
  run: NewRun;
}

/** A module as a path or bytes (a module by sha256 is read from the store first: `Dwe.start`). */
export type ModuleBytesSource = Exclude<ModuleSource, { sha256: string }>;

export function readModule(source: ModuleBytesSource): { bytes: Uint8Array; name: string } {
  if (typeof source !== "string") return { bytes: source.bytes, name: source.name ?? "module.wasm" };
  try {
    return { bytes: new Uint8Array(readFileSync(source)), name: source };
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === "EISDIR" ? "; give the .wasm file in it (e.g. DIR/build/NAME.wasm)" : "";
    throw new UsageError(`cannot read module '${source}': ${fileProblem(err)}${hint}`);
  }
}

/** A run's input: bytes as they are, a string as its UTF-8 text, anything else (but undefined) as JSON. */
export function encodeInput(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (typeof input === "string") return new TextEncoder().encode(input);
  const json = JSON.stringify(input, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  if (json === undefined)
    throw new UsageError(`bad input: ${typeof input} cannot be written as JSON; pass bytes, a string or a JSON value`);
  return new TextEncoder().encode(json);
}

function positive(value: number | undefined, what: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`bad ${what} '${value}': expected a positive whole number`);
  return value;
}

function memorySize(value: number | undefined, what: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 65536 || value > 4 * 1024 ** 3) {
    throw new UsageError(`bad ${what} '${value}': must be between 64K and 4G`);
  }
  return value;
}

function childLimits(o: Partial<ChildLimits> | undefined): ChildLimits | undefined {
  if (o === undefined || (o.children === undefined && o.descendants === undefined && o.depth === undefined)) return undefined;
  return {
    children: positive(o.children, "--max-children") ?? DEFAULT_CHILD_LIMITS.children,
    descendants: positive(o.descendants, "--max-descendants") ?? DEFAULT_CHILD_LIMITS.descendants,
    depth: positive(o.depth, "--max-depth") ?? DEFAULT_CHILD_LIMITS.depth,
  };
}

/** `--name`: what the run is called in `dwe runs` (default: the module's file name). */
export function checkRunName(name: string): string {
  if (name.length === 0 || name.length > 200 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new UsageError(`bad --name '${name}': use 1-200 characters, no control characters`);
  }
  return name;
}

/**
 * Checks a module and everything a run of it is started with, before anything is written (so bad
 * input leaves the database as it was): valid Wasm with an entry point, id, grants (relative to
 * `cwd`, never over the database `db`), limits, and that its memory fits the limit.
 */
export function prepareRun(source: ModuleBytesSource, o: StartOptions, cwd: string, db: string): PreparedRun {
  const { bytes, name } = readModule(source);
  const info = inspectModule(bytes, name);
  const entry = chooseEntry(info, o.entry, name);
  const id = checkRunId(o.id ?? newRunId());
  const grants = resolveGrants(o.grants ?? {}, cwd, db);
  const input = encodeInput(o.input);
  const timeoutMs = positive(o.timeoutMs, "--timeout");
  const maxMemoryBytes = memorySize(o.maxMemoryBytes, "--max-memory");
  const maxJournalEntries = positive(o.maxJournalEntries, "--max-journal-entries");
  const maxJournalBytes = memorySize(o.maxJournalBytes, "--max-journal-bytes");
  positive(o.suspendAfterMs, "--suspend-after");
  const limits = childLimits(o.childLimits);
  const runName = checkRunName(o.name ?? basename(name));
  if (info.kind === "core") checkMemoryFits(bytes, maxMemoryBytes);
  return {
    module: { bytes, name, sha256: info.sha256, kind: info.kind },
    run: {
      id,
      module: info.sha256,
      name: runName,
      entry,
      input,
      config: {
        grants,
        args: o.args ?? [],
        env: o.env ?? {},
        timeoutMs,
        maxMemoryBytes,
        // argv[0] is the module's file name, as wasmtime passes it.
        argv0: basename(name),
        ...(maxJournalEntries !== null && { maxJournalEntries }),
        ...(maxJournalBytes !== null && { maxJournalBytes }),
        ...(limits && { childLimits: limits }),
      },
      parentId: null,
      status: "pending",
    },
  };
}

/**
 * Writes a prepared run: its module (a component transpiled, and so checked, first), then the run;
 * with `holder`, under its lease, taken in the same transaction (returned).
 */
export async function createPreparedRun(store: Store, p: PreparedRun, holder?: LeaseHolder): Promise<Lease | null> {
  const { id } = p.run;
  const existing = await store.getRun(id);
  if (existing) {
    // Only a run that has not ended can be resumed: the hint names a command that works.
    throw new RunStateError(
      isTerminal(existing.status)
        ? `a run with id '${id}' already exists and has ${existing.status === "completed" ? "completed" : `ended (${existing.status})`}; pick another --id (see it with \`dwe show ${id}\`)`
        : `a run with id '${id}' already exists (${existing.status}); pick another --id, or continue it with \`dwe resume ${id}\``,
    );
  }
  const m = p.module;
  // The component path (jco) is loaded only to create a run of a component.
  const components = m.kind === "component" ? await import("../runtime/component-loader.js") : null;
  const artifact = components ? await components.componentArtifactFor(store, m.sha256, m.bytes, m.name) : null;
  await store.putModule(m.sha256, m.kind, m.bytes);
  if (components && artifact) await store.putArtifact(m.sha256, components.COMPONENT_ARTIFACT, artifact);
  if (holder) return store.createLeasedRun(p.run, holder.owner, holder.ttlMs);
  await store.createRun(p.run);
  return null;
}

/** Who takes the lease of a run as it is created, and for how long. */
export interface LeaseHolder {
  owner: string;
  ttlMs: number;
}
