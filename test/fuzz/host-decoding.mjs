// Property-based fuzzing of the host's decoding (fast-check), run as a plain Node process against
// the compiled engine (dist/): random bytes and random pointers thrown at the `dwe` ABI's
// call/response/abort/trace, at every operation's request decoding, and at every WASI preview1
// import. Whatever the input, the host answers (a result, an error value for the guest, an errno)
// or stops the run with a typed error (DweError, Suspend, ProcExit); anything else thrown (a
// TypeError, a RangeError, an internal error) is a failure, printed with its counterexample.
//
// Usage: node test/fuzz/host-decoding.mjs [RUNS_PER_PROPERTY] [SEED]
// Prints one JSON line {properties, runs, seed} and exits 0, or the failure and exits 1.
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "msgpackr";

const dist = new URL("../../dist/", import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { DweError } = await load("engine/errors.js");
const { abiImports } = await load("engine/executor/abi-imports.js");
const { Dispatcher, Suspend } = await load("engine/executor/dispatcher.js");
const { GuestMemory } = await load("engine/executor/guest-memory.js");
const { JournalWriter } = await load("engine/journal/journal-writer.js");
const { PROVIDED_SIGNATURES } = await load("engine/runtime/import-signatures.js");
const { SqliteStore } = await load("engine/store/sqlite-store.js");
const { HOST_FUNCTIONS } = await load("host-functions/registry.js");
const { ProcExit, WasiHost } = await load("host-functions/wasi/preview1.js");

const RUNS = Number(process.argv[2] ?? 500);
const SEED = process.argv[3] === undefined ? Date.now() % 2 ** 31 : Number(process.argv[3]);
const PAGE = 65536;
const OPS = ["run.input", "run.info", "run.key", "run.fail", ...HOST_FUNCTIONS.keys()];

/** How the calls ended: a value, or a typed error by class name (shows what the inputs reached). */
const outcomes = {};
const count = (k) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
const allowed = (err) => {
  const ok = err instanceof DweError || err instanceof Suspend || err instanceof ProcExit;
  if (ok) count(err instanceof DweError ? err.code : err.name);
  return ok;
};

/** Calls fn; a thrown or rejected value must be allowed, a result must be an integer or a reply. */
async function attempt(fn) {
  let r;
  try {
    r = fn();
  } catch (err) {
    if (allowed(err)) return;
    throw err;
  }
  try {
    const v = await r;
    if (typeof v === "number" && !Number.isInteger(v)) throw new Error(`returned ${v}, not an integer`);
    count(typeof v === "number" ? "errno/length" : v && v.ok === false ? "error reply" : "reply");
  } catch (err) {
    if (!allowed(err)) throw err;
  }
}

const dir = mkdtempSync(join(tmpdir(), "dwe-fuzz-"));
mkdirSync(join(dir, "data"));
const store = new SqliteStore(join(dir, "fuzz.db"));
await store.putModule("fuzz", "core", new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
const run = await store.createRun({
  id: "fuzz",
  module: "fuzz",
  entry: "run",
  input: new TextEncoder().encode('{"x":1}'),
  // Files in a scratch directory only; no commands, no network: nothing random leaves the sandbox.
  config: {
    grants: { dirs: [{ host: join(dir, "data"), guest: "/data", readonly: false }], net: [], shell: false },
    args: ["a"],
    env: { K: "V" },
    timeoutMs: null,
    maxMemoryBytes: null,
  },
  parentId: null,
  status: "pending",
});
const lease = await store.acquireLease("fuzz", "fuzz:1:x", 600_000, false);
const services = {
  takeSignal: () => Promise.resolve(undefined),
  startChild: (seq) => Promise.resolve(`fuzz.${seq}`),
  child: () => Promise.resolve(undefined),
};

/** A fresh guest: memory, a dispatcher journaling into the store, the ABI and WASI imports (no asyncify: async answers are awaited). */
function guest(pages) {
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: 4 });
  const memory = new GuestMemory();
  memory.bind(wasm);
  const wasi = new WasiHost(run);
  const dispatcher = new Dispatcher({
    run,
    cwd: dir,
    journal: new JournalWriter(store, lease, { maxBatch: 512, maxDelayMs: 20 }),
    recorded: [],
    functions: wasi.withFunctions(HOST_FUNCTIONS),
    suspendAfterMs: 0,
    signal: new AbortController().signal,
    deadline: null,
    services,
  });
  const driver = { wrap: (fn) => fn };
  return {
    wasm,
    bytes: new Uint8Array(wasm.buffer),
    abi: abiImports(memory, dispatcher, driver, () => undefined),
    wasi: wasi.imports(memory, dispatcher, driver),
    dispatcher,
    close: () => wasi.close(),
  };
}

const i32 = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: 0, max: 2 * PAGE }),
  fc.constantFrom(0, -1, -2, -16, 0x7fffffff, -0x80000000, PAGE, PAGE - 1, 2 * PAGE - 8, 0xfffffff0 | 0),
);
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

const abiPointers = fc.asyncProperty(
  fc.uint8Array({ maxLength: 512 }),
  fc.nat({ max: 2 * PAGE - 512 }),
  fc.constantFrom(...OPS, "nope", ""),
  fc.tuple(i32, i32, i32, i32),
  fc.tuple(i32, i32),
  fc.boolean(),
  async (junk, at, op, [opPtr, opLen, reqPtr, reqLen], [dst, dstLen], planted) => {
    const g = guest(2);
    try {
      g.bytes.set(junk, at);
      let p = opPtr;
      let l = opLen;
      if (planted) {
        // Half the time the operation pointer really points at an operation name.
        const name = new TextEncoder().encode(op);
        g.bytes.set(name, 0);
        p = 0;
        l = name.length;
      }
      await attempt(() => g.abi.dwe.call(p, l, reqPtr, reqLen));
      await attempt(() => g.abi.dwe.response(dst, dstLen));
      await attempt(() => g.abi.env.abort(opPtr, reqPtr, opLen, reqLen));
      await attempt(() => g.abi.env.trace(opPtr, 3, 1.5, 2, 3, 4, 5));
      if (g.wasm.buffer.byteLength > 4 * PAGE) throw new Error("guest memory grew");
    } finally {
      g.close();
    }
  },
);

const value = fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, maxDepth: 3 });
const shaped = fc.record(
  {
    path: fc.oneof(fc.string(), fc.constantFrom("/data/x", "/data/../etc/passwd", "..", "/data", "/data/a/b/../../x", "")),
    data: fc.uint8Array({ maxLength: 64 }),
    message: fc.string(),
    level: fc.string(),
    code: fc.string(),
    len: fc.oneof(fc.nat(), fc.constantFrom(65536, 65537, 2 ** 53, -1)),
    ms: fc.oneof(fc.nat(), fc.constant(-5)),
    until: fc.nat(),
    url: fc.string(),
    method: fc.string(),
    headers: fc.dictionary(fc.string(), fc.anything({ maxDepth: 1 })),
    argv: fc.array(fc.string(), { maxLength: 3 }),
    name: fc.string(),
    entry: fc.string(),
    id: fc.string(),
    recursive: fc.anything({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const packed = (arb) =>
  arb.map((v) => {
    try {
      return pack(v);
    } catch {
      return new Uint8Array([0xc1]);
    }
  });
const requests = fc.asyncProperty(
  fc.constantFrom(...OPS),
  fc.oneof(fc.uint8Array({ maxLength: 64 }), packed(value), packed(shaped)),
  async (op, request) => {
    const g = guest(1);
    try {
      await attempt(() => g.dispatcher.call(op, request));
    } finally {
      g.close();
    }
  },
);

const wasiNames = Object.keys(PROVIDED_SIGNATURES)
  .filter((k) => k.startsWith("wasi_snapshot_preview1."))
  .map((k) => k.slice("wasi_snapshot_preview1.".length));
const paramsOf = (name) =>
  /^\((.*)\) ->/
    .exec(PROVIDED_SIGNATURES[`wasi_snapshot_preview1.${name}`])[1]
    .split(", ")
    .filter((t) => t !== "");
const wasiCalls = fc.asyncProperty(
  fc.constantFrom(...wasiNames),
  fc.uint8Array({ maxLength: 256 }),
  fc.array(fc.tuple(i32, i64), { minLength: 9, maxLength: 9 }),
  async (name, junk, args) => {
    const g = guest(1);
    try {
      g.bytes.set(junk, 0);
      const values = paramsOf(name).map((t, i) => (t === "i64" ? args[i][1] : args[i][0]));
      await attempt(() => g.wasi[name](...values));
    } finally {
      g.close();
    }
  },
);

let failed = false;
for (const [name, property, factor] of [
  ["abi pointers", abiPointers, 1],
  ["operation requests", requests, 4],
  ["wasi imports", wasiCalls, 4],
]) {
  const result = await fc.check(property, { numRuns: RUNS * factor, seed: SEED });
  if (result.failed) {
    failed = true;
    process.stderr.write(`property '${name}' failed (seed ${SEED}):\n${fc.defaultReportMessage(result)}\n`);
  }
}
await store.close();
rmSync(dir, { recursive: true, force: true });
if (!failed) process.stdout.write(JSON.stringify({ properties: 3, runs: RUNS * 9, seed: SEED, outcomes }) + "\n");
process.exit(failed ? 1 : 0);
