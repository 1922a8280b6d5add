import { pack } from "msgpackr";
import { InvalidModule } from "../kernel/errors.js";
import { decodeMsgpack, FILE_LIMITS } from "../kernel/msgpack-decoder.js";
import type { Store } from "../store/types.js";
import { OnceByKey } from "./once-by-key.js";
import { SUPPORTED_INTERFACES } from "../../host-functions/wasi-p2/index.js";

/**
 * Components are transpiled by jco into JS plus core Wasm modules, once per component hash. The
 * result is stored in the store (`module_artifacts`, kind `jco-v1`, one msgpack blob `{files,
 * imports}`) and handed to the component's worker thread as bytes: the JS is imported from a
 * `data:` URL and the core modules compiled from memory. Nothing of it is read back from disk, so
 * no file anyone can write (a planted `~/.cache/dwe/jco-v1-<sha>/component.js`) is ever executed.
 */
export const COMPONENT_ARTIFACT = "jco-v1";

/** The JS entry file of a transpiled component. */
export const COMPONENT_JS = "component.js";

export interface LoadedComponent {
  sha: string;
  /** component.js and its core modules, by file name, as stored. */
  files: Record<string, Uint8Array>;
  /** WASI interfaces the component imports (without versions). */
  imports: string[];
}

interface Artifact {
  files: Record<string, Uint8Array>;
  imports: string[];
}

const unversioned = (name: string) => name.replace(/@[^/]*$/, "");

/** Transpiles a component with jco (instantiation mode: its imports are handed in by dwe). */
export async function transpileComponent(bytes: Uint8Array, name: string): Promise<Artifact> {
  const { transpile } = await import("@bytecodealliance/jco");
  let out: Awaited<ReturnType<typeof transpile>>;
  try {
    out = await transpile(bytes, { name: "component", instantiation: "async", noTypescript: true, quiet: true, base64Cutoff: 0 });
  } catch (err) {
    throw new InvalidModule(`${name} is not a component jco can transpile: ${(err as Error).message}`, { cause: err });
  }
  const imports = [...new Set(out.imports.map(unversioned))].sort();
  const missing = imports.filter((i) => !SUPPORTED_INTERFACES.has(i));
  if (missing.length > 0) {
    throw new InvalidModule(
      `${name} imports ${missing.join(", ")}, which dwe does not provide to components; see docs/components.md for the supported WASI 0.2 interfaces`,
    );
  }
  const exported = out.exports.map(([n]) => unversioned(n));
  if (!exported.includes("wasi:cli/run")) {
    throw new InvalidModule(
      `${name} does not export wasi:cli/run; dwe runs command components (for example made with \`jco new core.wasm --wasi-command\`)`,
    );
  }
  const files: Record<string, Uint8Array> = {};
  for (const [file, data] of Object.entries(out.files)) if (file.endsWith(".js") || file.endsWith(".wasm")) files[file] = data;
  if (!files[COMPONENT_JS]) throw new InvalidModule(`${name}: jco produced no ${COMPONENT_JS}`);
  return { files, imports };
}

function decodeArtifact(bytes: Uint8Array): Artifact | undefined {
  try {
    const a = decodeMsgpack(bytes, FILE_LIMITS) as Partial<Artifact> | null;
    if (!a || typeof a.files !== "object" || !Array.isArray(a.imports)) return undefined;
    const files: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(a.files as Record<string, unknown>)) if (v instanceof Uint8Array) files[k] = v;
    return files[COMPONENT_JS] ? { files, imports: a.imports } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Transpiles (and so checks) a component before a run is created from it, unless the store already
 * holds its artifact; returns the artifact to store with the module, or null when it is there.
 */
export async function componentArtifactFor(store: Store, sha: string, bytes: Uint8Array, name: string): Promise<Uint8Array | null> {
  if (await store.getArtifact(sha, COMPONENT_ARTIFACT)) return null;
  return pack(await transpileComponent(bytes, name));
}

/** Loaded components by sha256, for the life of the process; concurrent loads share one transpile. */
const loaded = new OnceByKey<LoadedComponent>(true);

/** The runnable form of a stored component: transpiled once per hash (cached in the store and in this process). */
export function loadComponent(store: Store, sha: string): Promise<LoadedComponent> {
  return loaded.get(sha, async () => {
    const stored = await store.getModule(sha);
    if (!stored) throw new InvalidModule(`module ${sha} is missing from the store; the database is incomplete`);
    const cached = await store.getArtifact(sha, COMPONENT_ARTIFACT);
    let artifact = cached && decodeArtifact(cached);
    if (!artifact) {
      artifact = await transpileComponent(stored.bytes, `component ${sha.slice(0, 12)}`);
      await store.putArtifact(sha, COMPONENT_ARTIFACT, pack(artifact));
    }
    return { sha, files: artifact.files, imports: artifact.imports };
  });
}
