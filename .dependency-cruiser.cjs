// The import rules of dwe (docs/architecture.md, "Layers"), checked by `npm run lint:layers` in
// `npm test`. LAYERS is the one table of who may import whom, bottom first: a layer may import
// itself and the layers it lists, which must come before it, so no two layers can import each
// other. Besides the table: no cycle between files or between folders, and guest code imports
// nothing of the host's.

/** Layer name → the files in it (a path regex) and the layers below it that it may import. */
const LAYERS = {
  // The contract shared by the engine and the host functions.
  kernel: { path: "^engine/kernel/", may: [] },
  // Metrics and spans behind interfaces whose default does nothing (docs/observability.md).
  telemetry: { path: "^engine/telemetry/", may: [] },
  journal: { path: "^engine/journal/", may: ["kernel"] },
  store: { path: "^engine/store/", may: ["kernel", "journal"] },
  "host-functions": { path: "^host-functions/", may: ["kernel"] },
  runtime: { path: "^engine/runtime/", may: ["kernel", "store", "host-functions"] },
  portable: { path: "^engine/portable/", may: ["kernel", "journal", "store"] },
  pipeline: { path: "^engine/pipeline/", may: ["kernel"] },
  executor: { path: "^engine/executor/", may: ["kernel", "telemetry", "journal", "store", "host-functions", "runtime"] },
  worker: { path: "^engine/worker/", may: ["kernel", "telemetry", "journal", "store", "host-functions", "runtime", "executor"] },
  // The library API (docs/api.md): everything a program (and the CLI) does with dwe.
  api: { path: "^engine/api/", may: ["kernel", "telemetry", "journal", "store", "host-functions", "runtime", "portable", "executor", "worker"] },
  // The JSON HTTP API (docs/http-api.md): a client of the library API, as the CLI is.
  server: { path: "^engine/server/", may: ["kernel", "api"] },
  cli: {
    path: "^engine/cli/",
    may: ["kernel", "telemetry", "journal", "store", "host-functions", "runtime", "portable", "pipeline", "executor", "worker", "api", "server"],
  },
  bench: { path: "^bench/(?!guests/)", may: ["kernel", "telemetry", "journal", "store", "host-functions", "runtime", "executor", "worker", "cli"] },
};

/** Guest code: compiled to WebAssembly, it may import only the guest SDK (and its own files). */
const GUEST = "^(guest-sdk/|examples/[^/]+/assembly/|bench/guests/|test/fixtures/)";

/**
 * What the component's guest thread (engine/runtime/component-worker.ts) may load of the host
 * functions: the guest side of WASI 0.2 (one file per interface, host-functions/wasi-p2/interface.ts)
 * and the pure tables it shares with preview1. The host functions that answer its calls (files,
 * HTTP client, commands) run on the engine's thread, never in the component's.
 */
const COMPONENT_THREAD = [
  "^host-functions/wasi-p2/(cli|clocks|filesystem|http|io|random|host|index|interface)\\.ts$",
  "^host-functions/wasi/(codec|constants|errno|guest-paths|stdio)\\.ts$",
  "^host-functions/(fs-error|path-limits|http-headers|request-fields)\\.ts$",
];

const names = Object.keys(LAYERS);
names.forEach((name, i) => {
  for (const below of LAYERS[name].may) {
    if (!(names.indexOf(below) < i)) throw new Error(`layer ${name} may import only layers listed before it, not ${below}`);
  }
});
const pathsOf = (list) => list.map((n) => LAYERS[n].path);
const HOST = pathsOf(names);

module.exports = {
  forbidden: [
    ...names.map((name) => ({
      name: `layer-${name}`,
      comment: `${name} may import only ${LAYERS[name].may.join(", ") || "itself"} of dwe's code (LAYERS in .dependency-cruiser.cjs)`,
      severity: "error",
      from: { path: LAYERS[name].path },
      to: { path: "^(engine|host-functions|bench|test|scripts|guest-sdk|examples)/", pathNot: pathsOf([name, ...LAYERS[name].may]) },
    })),
    {
      name: "host-functions-npm",
      comment: "host functions import only the kernel and Node: what they need of a package, the kernel provides",
      severity: "error",
      from: { path: LAYERS["host-functions"].path },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "component-thread-guest-side",
      comment:
        "the component's guest thread loads only the guest side of WASI 0.2 and the tables it shares (COMPONENT_THREAD in .dependency-cruiser.cjs); host functions run on the engine's thread (host-functions/wasi-p2/host-functions.ts)",
      severity: "error",
      from: { path: "^engine/runtime/component-worker\\.ts$" },
      to: { path: "^host-functions/", pathNot: COMPONENT_THREAD, reachable: true },
    },
    {
      name: "unlayered",
      comment: "every file of the engine belongs to a layer: add its folder to LAYERS (and to docs/architecture.md)",
      severity: "error",
      from: { path: "^(engine|host-functions)/", pathNot: HOST },
      to: {},
    },
    {
      name: "guest-imports-host",
      comment: "guest code runs inside WebAssembly: it imports the guest SDK, never the host (engine, host functions, Node)",
      severity: "error",
      from: { path: GUEST },
      to: { pathNot: ["^guest-sdk/", "^(examples/[^/]+/assembly|bench/guests|test/fixtures)/"] },
    },
    {
      name: "console-browser-only",
      comment: "the web console (console/) runs in the browser: it imports only its own files, never the engine, Node or a package",
      severity: "error",
      from: { path: "^console/" },
      to: { pathNot: "^console/" },
    },
    {
      name: "no-file-cycle",
      comment: "files import each other: move what both need into a third file, or pass it in",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-cycle",
      comment:
        "folders import each other: one of them must sit below the other",
      severity: "error",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that resolves to no file",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsConfig: { fileName: "tsconfig.json" },
    // Type-only imports count: a type is a dependency on the layer that declares it.
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules|target)/|/build/|^bench/\\.build/" },
    // Package subpaths (assemblyscript/asc) resolve through their `exports`, as Node resolves them.
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
