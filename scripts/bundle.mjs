// Bundles the CLI and the threads it starts into dist/bundle/ with esbuild (run by scripts/prepare.mjs
// after tsc, so on `npm install`, `npm pack` and `npm test`, and by `npm run build`). Loading ~170 small
// ES modules cost more than everything else `dwe run` does (docs/architecture.md, "The bundle"):
//
// - the CLI is one CommonJS script, dist/bundle/cli.cjs, so that bin/dwe.js can compile it with V8's code
//   cache (Node 20 has none for ES modules); `import.meta.url` is defined as the script's own URL;
// - the threads' entries (attempt-thread-main.js, component-worker.js) are ES modules beside it, sharing
//   chunk-*.js files: the code finds a thread's entry beside itself
//   (`new URL("./attempt-thread-main.js", import.meta.url)`), so the directory is flat and keeps those names;
// - better-sqlite3's JavaScript and msgpackr's plain build are inside (the addon is loaded by path,
//   engine/store/sqlite-addon.ts); the big packages loaded only when needed (jco, binaryen, pg,
//   prom-client, OpenTelemetry) stay in node_modules and are imported from there;
// - Node's own modules that only some runs need are loaded at first use (engine/kernel/node-modules.ts),
//   and commander gets node:child_process only if it would start a program (never, in dwe).
import { build } from "esbuild";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "bundle");

const EXTERNAL = ["@bytecodealliance/jco", "binaryen", "pg", "pg-native", "prom-client", "@opentelemetry/*"];

/** Where Node finds package `name` from here (its exports map hides its package.json). */
function packageDir(name) {
  let dir = dirname(createRequire(import.meta.url).resolve(name));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
}

/**
 * commander requires node:child_process when it loads (≈ 5 ms with what it pulls in), only to start
 * executable subcommands, which dwe has none of: it gets a stand-in that loads the module at first use.
 */
const lazyChildProcessForCommander = {
  name: "lazy-child-process-for-commander",
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: "child_process", namespace: "dwe-lazy" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "dwe-lazy" }, () => ({
      contents: 'module.exports = { spawn: (...a) => require("node:child_process").spawn(...a) };',
      loader: "js",
    }));
  },
};

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  // Less to parse at every start (commander is mostly comments); names are kept. Positions map back to
  // the TypeScript for `--debug` stack traces (bin/dwe.js enables source maps then).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
  // msgpackr's plain build: its Node entry loads an optional native string extractor through two packages
  // (a third of `dwe run`'s start), which replay does not need (B2 is the same with and without it).
  alias: { msgpackr: join(packageDir("msgpackr"), "index.js") },
  plugins: [lazyChildProcessForCommander],
};

rmSync(outdir, { recursive: true, force: true });
const cli = await build({
  ...common,
  entryPoints: { cli: "engine/cli/main.ts" },
  format: "cjs",
  outExtension: { ".js": ".cjs" },
  define: { "import.meta.url": "__dweModuleUrl" },
  // A script compiled by node:vm (as bin/dwe.js does, for the code cache) cannot call import() on Node 20:
  // the external packages' dynamic imports go through the function bin/dwe.js provides, or import() when
  // the bundle is loaded by require().
  banner: {
    js:
      'var __dweModuleUrl = require("node:url").pathToFileURL(__filename).href;' +
      'var dweImp = globalThis[Symbol.for("dwe.import")] ?? ((specifier) => import(specifier));',
  },
  write: false,
});
mkdirSync(outdir, { recursive: true });
for (const f of cli.outputFiles) {
  let text = f.text;
  if (f.path.endsWith(".cjs")) {
    // `dweImp(` is as long as `import(`: the source map's columns stay right.
    text = text.replace(/\bimport\((["'])([^"']*)\1\)/g, (_, q, specifier) => {
      if (!EXTERNAL.some((e) => (e.endsWith("/*") ? specifier.startsWith(e.slice(0, -1)) : specifier === e))) {
        throw new Error(`bundle: import("${specifier}") in the CLI is not of an external package`);
      }
      return `dweImp(${q}${specifier}${q})`;
    });
  }
  writeFileSync(f.path, text);
}
await build({
  ...common,
  entryPoints: {
    "attempt-thread-main": "engine/executor/attempt-thread-main.ts",
    "component-worker": "engine/runtime/component-worker.ts",
  },
  chunkNames: "chunk-[hash]",
  format: "esm",
  splitting: true,
  // Bundled CommonJS code calls require() for Node's modules; ES modules have none of their own.
  banner: { js: 'import { createRequire as __dweRequire } from "node:module"; const require = __dweRequire(import.meta.url);' },
});
