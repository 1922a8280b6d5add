import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { RunStateError, UsageError } from "../../kernel/errors.js";
import { checkMemoryFits, chooseEntry, inspectModule } from "../../runtime/module-loader.js";
import { COMPONENT_ARTIFACT, componentArtifactFor } from "../../runtime/component-loader.js";
import { type GlobalOptions, dbPath, openStore, parseDurability } from "../context.js";
import { checkRunId, grantsFromFlags, type GrantFlags, newRunId, parseEnv, parsePositiveInt, parseSize, readInput } from "../options.js";
import { executeAndReport } from "./execute.js";
import { type ChildLimits, DEFAULT_CHILD_LIMITS } from "../../store/child-limits.js";

export interface RunFlags extends GlobalOptions, GrantFlags {
  id?: string;
  input?: string;
  env?: string[];
  entry?: string;
  timeout?: string;
  maxMemory?: string;
  maxChildren?: string;
  maxDescendants?: string;
  maxDepth?: string;
  maxJournalEntries?: string;
  maxJournalBytes?: string;
  suspendAfter?: string;
  json?: boolean;
  quiet?: boolean;
  detach?: boolean;
}

/** `dwe run MODULE [-- ARGS…]`: pins the module, creates the run, and executes it here. */
export async function runCommand(modulePath: string, args: string[], flags: RunFlags): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(modulePath));
  } catch (err) {
    throw new UsageError(
      `cannot read module '${modulePath}': ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  // Everything is checked before the database is touched, so bad input leaves it unchanged.
  const info = inspectModule(bytes, modulePath);
  const entry = chooseEntry(info, flags.entry, modulePath);
  const id = checkRunId(flags.id ?? newRunId());
  const grants = grantsFromFlags(flags, process.cwd(), dbPath(flags));
  const input = readInput(flags.input);
  const env = parseEnv(flags.env);
  const timeoutMs = flags.timeout === undefined ? null : parsePositiveInt(flags.timeout, "--timeout");
  const maxMemoryBytes = flags.maxMemory === undefined ? null : parseSize(flags.maxMemory, "--max-memory");
  const maxJournalEntries =
    flags.maxJournalEntries === undefined ? null : parsePositiveInt(flags.maxJournalEntries, "--max-journal-entries");
  const maxJournalBytes = flags.maxJournalBytes === undefined ? null : parseSize(flags.maxJournalBytes, "--max-journal-bytes");
  const suspendAfterMs = flags.suspendAfter === undefined ? undefined : parsePositiveInt(flags.suspendAfter, "--suspend-after");
  const childLimits = childLimitsFromFlags(flags);
  if (info.kind === "core") checkMemoryFits(bytes, maxMemoryBytes);

  const store = openStore(flags, true);
  try {
    if (await store.getRun(id)) {
      throw new RunStateError(`a run with id '${id}' already exists; pick another --id or resume it with \`dwe resume ${id}\``);
    }
    // A component is transpiled (and so checked) before anything is written.
    const artifact = info.kind === "component" ? await componentArtifactFor(store, info.sha256, bytes, modulePath) : null;
    await store.putModule(info.sha256, info.kind, bytes);
    if (artifact) await store.putArtifact(info.sha256, COMPONENT_ARTIFACT, artifact);
    await store.createRun({
      id,
      module: info.sha256,
      entry,
      input,
      config: {
        grants,
        args,
        env,
        timeoutMs,
        maxMemoryBytes,
        // argv[0] is the module's file name, as wasmtime passes it.
        argv0: basename(modulePath),
        ...(maxJournalEntries !== null && { maxJournalEntries }),
        ...(maxJournalBytes !== null && { maxJournalBytes }),
        ...(childLimits && { childLimits }),
      },
      parentId: null,
      status: "pending",
    });
    if (flags.detach) {
      process.stdout.write(id + "\n");
      return 0;
    }
    if (!flags.json && !flags.quiet) process.stderr.write(`dwe: run ${id}\n`);
    return await executeAndReport(store, id, {
      json: flags.json ?? false,
      quiet: flags.quiet ?? false,
      db: dbPath(flags),
      durability: parseDurability(flags.durability),
      ...(suspendAfterMs !== undefined && { suspendAfterMs }),
    });
  } finally {
    await store.close();
  }
}

/** `--max-children`, `--max-descendants`, `--max-depth`; undefined when none is given (the defaults apply). */
function childLimitsFromFlags(flags: RunFlags): ChildLimits | undefined {
  if (flags.maxChildren === undefined && flags.maxDescendants === undefined && flags.maxDepth === undefined) return undefined;
  const int = (v: string | undefined, flag: string, d: number) => (v === undefined ? d : parsePositiveInt(v, flag));
  return {
    children: int(flags.maxChildren, "--max-children", DEFAULT_CHILD_LIMITS.children),
    descendants: int(flags.maxDescendants, "--max-descendants", DEFAULT_CHILD_LIMITS.descendants),
    depth: int(flags.maxDepth, "--max-depth", DEFAULT_CHILD_LIMITS.depth),
  };
}
