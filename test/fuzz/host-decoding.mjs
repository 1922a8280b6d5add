// Property-based fuzzing of the host's decoding (fast-check), run as a plain Node process against
// the compiled engine (dist/): random bytes and random pointers thrown at the `dwe` ABI's
// call/response/abort/trace, at every operation's request decoding, and at every WASI preview1
// import. Whatever the input, the host answers (a result, an error value for the guest, an errno)
// or stops the run with a typed error (DweError, Suspend, ProcExit); anything else thrown (a
// TypeError, a RangeError, an internal error) is a failure, printed with its counterexample.
//
// Adversarial inputs too (docs/security.md, "Decoding"): deep and wide MessagePack, every
// extension type, huge declared lengths, msgpackr's records, structures, references and bundled
// strings, long paths of many components, and WASI arrays (iovecs, subscriptions) as long as
// guest memory allows. Each call must end within CASE_MS and grow the heap by at most CASE_HEAP;
// run with a small V8 heap (`--max-old-space-size`, see test/host-decoding-fuzz.test.ts), a decoder
// whose cost the request does not bound aborts the whole process.
//
// Usage: node test/fuzz/host-decoding.mjs [RUNS_PER_PROPERTY] [SEED]
// Prints one JSON line {properties, runs, seed} and exits 0, or the failure and exits 1.
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Packr, pack } from "msgpackr";

const dist = new URL("../../dist/", import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { DweError } = await load("engine/kernel/errors.js");
const { abiImports } = await load("engine/executor/abi-imports.js");
const { Dispatcher, Suspend } = await load("engine/executor/dispatcher.js");
const { CheckedGuestMemory } = await load("engine/executor/guest-memory.js");
const { JournalWriter } = await load("engine/executor/journal-writer.js");
const { PROVIDED_SIGNATURES } = await load("engine/runtime/import-signatures.js");
const { SqliteStore } = await load("engine/store/sqlite-store.js");
const { HOST_FUNCTIONS } = await load("host-functions/registry.js");
const { decodeMsgpack, scanMsgpack, PAYLOAD_LIMITS } = await load("engine/kernel/msgpack-decoder.js");
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

/** Bounds on one host call: generous (the machine may be loaded), far below what a bomb costs. */
const CASE_MS = 5_000;
const CASE_HEAP = 96 * 1024 * 1024;

/** Calls fn; a thrown or rejected value must be allowed, a result must be an integer or a reply. */
async function attempt(fn) {
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await answers(fn);
  const ms = performance.now() - t0;
  const grew = process.memoryUsage().heapUsed - heap0;
  if (ms > CASE_MS) throw new Error(`one call took ${Math.round(ms)} ms (bound ${CASE_MS} ms)`);
  if (grew > CASE_HEAP) throw new Error(`one call grew the heap by ${Math.round(grew / 2 ** 20)} MiB (bound ${CASE_HEAP / 2 ** 20} MiB)`);
}

async function answers(fn) {
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
  const wasm = new WebAssembly.Memory({ initial: pages, maximum: Math.max(4, pages) });
  const memory = new CheckedGuestMemory();
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

// ---- Adversarial requests -------------------------------------------------------------------

const u8 = (...parts) => {
  const out = [];
  for (const p of parts) for (const b of typeof p === "number" ? [p] : p) out.push(b);
  return new Uint8Array(out);
};
const be32 = (n) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const fixstr = (s) =>
  u8(
    0xa0 | s.length,
    [...s].map((c) => c.charCodeAt(0)),
  );

/** A DAG whose every level points twice at the one below, in msgpackr's reference (structured clone) encoding. */
function referenceBomb(levels, leaf, trailing) {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = [v, v];
  const p = new Packr({ structuredClone: true }).pack({ message: v, path: v });
  return trailing ? u8(p, 0xc0) : p;
}

/** `count` values of one byte each (`{}` by default) in an array32: millions of objects from a few MB. */
function wide(count, item = 0x80) {
  const b = new Uint8Array(5 + count).fill(item);
  b.set([0xdd, ...be32(count)]);
  return b;
}

const deep = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom([0x91], [0x81, 0xa0], [0xdc, 0, 1], [0xdf, 0, 0, 0, 1, 0xa1, 0x6b]))
  .map(([depth, open]) => {
    const b = new Uint8Array(depth * open.length + 1).fill(0xc0);
    for (let i = 0; i < depth; i++) b.set(open, i * open.length);
    return b;
  });
const wideArb = fc
  .tuple(
    fc.oneof(fc.integer({ min: 0, max: 300_000 }), fc.constantFrom(65_535, 65_536, 65_537)),
    fc.constantFrom(0x80, 0x90, 0xc0, 0x00, 0xa0),
  )
  .map(([n, item]) => wide(n, item));
const hugeLength = fc
  .tuple(
    fc.constantFrom(0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf),
    fc.oneof(fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 65_537, 1 << 24), fc.nat()),
    fc.uint8Array({ maxLength: 16 }),
  )
  .map(([tag, n, rest]) => {
    const width = [0xc4, 0xd9].includes(tag) ? 1 : [0xc5, 0xda, 0xdc, 0xde].includes(tag) ? 2 : 4;
    return u8(tag, be32(n).slice(4 - width), rest);
  });
const extension = fc
  .tuple(
    fc.constantFrom(0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9),
    fc.integer({ min: 0, max: 255 }),
    fc.uint8Array({ maxLength: 40 }),
  )
  .map(([tag, type, data]) => {
    const fixed = { 0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16 }[tag];
    if (fixed !== undefined)
      return u8(
        tag,
        type,
        new Uint8Array(fixed).map((_, i) => data[i] ?? 0),
      );
    const width = tag === 0xc7 ? 1 : tag === 0xc8 ? 2 : 4;
    return u8(tag, be32(data.length).slice(4 - width), type, data);
  });
/** What msgpackr itself writes with its extensions on: records, structures, references, bundled strings, moreTypes. */
const msgpackrEncodings = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()).map(([levels, trailing]) => referenceBomb(levels, "xy", trailing)),
  fc.anything({ maxDepth: 2 }).map((v) =>
    new Packr({ useRecords: true, structures: [] }).pack([
      { path: "/data/x", v },
      { path: "/data/y", v },
    ]),
  ),
  fc.string().map((s) => new Packr({ bundleStrings: true }).pack({ message: s.repeat(8), path: s })),
  fc
    .constantFrom(new Set([1, 2]), new Map([[{}, 1]]), new Date(0), /(a+)+$/, new Error("e"), new Float64Array(3), undefined, 2n ** 200n)
    .map((v) => new Packr({ moreTypes: true, structuredClone: true }).pack({ message: v, path: v, data: v })),
  fc.uint8Array({ maxLength: 64 }).map((b) => u8(0xd4, 0x72, 0x40, 0x92, fixstr("path"), fixstr("data"), 0x40, b)), // a record definition, then records
  fc.uint8Array({ maxLength: 64 }).map((b) => u8(b, 0xc1, b)),
);
const longPath = fc
  .tuple(
    fc.constantFrom("/data/", "", "/", "data/", "/data/../"),
    fc.constantFrom("a/", "../", "./", "/", "ab/.."),
    fc.integer({ min: 1, max: 100_000 }),
  )
  .map(([root, part, n]) => root + part.repeat(n));
const pathRequest = longPath.map((path) => pack({ path, from: path, to: path, data: new Uint8Array(1), recursive: true }));
const hostile = fc.oneof(deep, wideArb, hugeLength, extension, msgpackrEncodings, pathRequest);
/** Hostile bytes as the request, or as the value of one field of a map. */
const hostileRequest = fc.oneof(
  hostile,
  fc.tuple(fc.constantFrom("path", "message", "data", "argv", "headers", "input"), hostile).map(([k, v]) => u8(0x81, fixstr(k), v)),
);
const adversarialRequests = fc.asyncProperty(fc.constantFrom(...OPS), hostileRequest, async (op, request) => {
  const g = guest(1);
  try {
    await attempt(() => g.dispatcher.call(op, request));
  } finally {
    g.close();
  }
});

/** The bounded decoder refuses no value msgpackr writes without extensions, and decodes it as msgpackr does. */
const plainPackr = new Packr({ useRecords: false, variableMapSize: true });
const decoderAgrees = fc.property(
  fc.anything({ withBigInt: true, withTypedArray: false, withMap: false, withSet: false, withDate: false, maxDepth: 8 }),
  (v) => {
    let bytes;
    try {
      bytes = plainPackr.pack(v);
    } catch {
      return;
    }
    const refused = scanMsgpack(bytes, PAYLOAD_LIMITS);
    if (refused !== null) throw new Error(`refused ${Buffer.from(bytes).toString("hex").slice(0, 80)}: ${refused}`);
    const ours = JSON.stringify(decodeMsgpack(bytes, PAYLOAD_LIMITS), (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
    const theirs = JSON.stringify(plainPackr.unpack(bytes), (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
    if (ours !== theirs) throw new Error(`decoded ${ours} where msgpackr decodes ${theirs}`);
  },
);

/** The inputs of the issue, at every operation: 6 MB of empty maps, and a ~528-byte reference bomb. */
async function issueCases() {
  for (const request of [
    wide(6_000_000),
    new Uint8Array(6_000_000).fill(0x80),
    referenceBomb(40, "xy", true),
    referenceBomb(40, "xy", false),
  ]) {
    for (const op of OPS) {
      const g = guest(1);
      try {
        await attempt(() => g.dispatcher.call(op, request));
      } finally {
        g.close();
      }
    }
  }
}

// WASI imports over a large memory laid out for trouble: zeros (iovecs and subscriptions of
// length 0, as many as fit), then a path of 100,000 components.
const BIG_PAGES = 1024; // 64 MiB
const PATH_AT = 48 * 1024 * 1024;
const PATH = new TextEncoder().encode("a/".repeat(100_000));
const bigLengths = fc.constantFrom(
  0,
  1,
  16,
  1024,
  1025,
  4096,
  4097,
  PATH.length,
  1 << 20,
  (40 * 1024 * 1024) / 8,
  (40 * 1024 * 1024) / 48,
  0x7fffffff,
  -1,
);
const bigPointers = fc.constantFrom(0, 8, PATH_AT, PATH_AT + 2, BIG_PAGES * PAGE - 8, -1);
let bigGuest = null;
const wasiAdversarial = fc.asyncProperty(
  fc.constantFrom(...wasiNames),
  fc.array(fc.oneof(bigLengths, bigPointers), { minLength: 9, maxLength: 9 }),
  fc.array(fc.constantFrom(0n, 1n, 2n ** 63n - 1n, 2n ** 64n - 1n, 1n << 40n), { minLength: 9, maxLength: 9 }),
  async (name, ints, longs) => {
    if (!bigGuest) {
      bigGuest = guest(BIG_PAGES);
      bigGuest.bytes.set(PATH, PATH_AT);
    }
    const values = paramsOf(name).map((t, i) => (t === "i64" ? longs[i] : ints[i]));
    await attempt(() => bigGuest.wasi[name](...values));
    // Reads from the guest may have been written over the layout: restore the path.
    bigGuest.bytes.fill(0, 0, PATH_AT);
    bigGuest.bytes.set(PATH, PATH_AT);
  },
);

let failed = false;
try {
  await issueCases();
} catch (err) {
  failed = true;
  process.stderr.write(`the issue's cases failed: ${err.stack ?? err}\n`);
}
for (const [name, property, factor] of [
  ["abi pointers", abiPointers, 1],
  ["operation requests", requests, 4],
  ["wasi imports", wasiCalls, 4],
  ["adversarial requests", adversarialRequests, 1],
  ["adversarial wasi imports", wasiAdversarial, 1],
  ["decoder agrees with msgpackr", decoderAgrees, 4],
]) {
  const result = await fc.check(property, { numRuns: RUNS * factor, seed: SEED });
  if (result.failed) {
    failed = true;
    process.stderr.write(`property '${name}' failed (seed ${SEED}):\n${fc.defaultReportMessage(result)}\n`);
  }
}
bigGuest?.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
if (!failed) process.stdout.write(JSON.stringify({ properties: 6, runs: RUNS * 15, seed: SEED, outcomes }) + "\n");
process.exit(failed ? 1 : 0);
