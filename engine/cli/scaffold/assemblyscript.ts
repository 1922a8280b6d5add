// The files `dwe init --lang assemblyscript DIR` writes: a workflow project that builds with
// `npm install && npm run build` (the AssemblyScript compiler is its dev dependency) and imports the
// SDK as `dwe/guest-sdk/assemblyscript`.
import type { ScaffoldFile, ScaffoldSpec } from "./types.js";

/** The flags every AssemblyScript guest is built with (scripts/build-examples.mjs). */
const ASC_FLAGS = "--optimizeLevel 3 --shrinkLevel 1 --noAssert --runtime incremental";

export function assemblyScriptProject(s: ScaffoldSpec): ScaffoldFile[] {
  const pkg = {
    name: s.name,
    version: "0.1.0",
    private: true,
    type: "module",
    scripts: {
      build: `asc assembly/index.ts --outFile build/${s.name}.wasm ${ASC_FLAGS}`,
      start: `dwe run build/${s.name}.wasm --input '{"name":"world"}'`,
    },
    devDependencies: { assemblyscript: s.assemblyscriptVersion, dwe: s.dweDependency },
  };
  return [
    { path: "package.json", text: JSON.stringify(pkg, null, 2) + "\n" },
    {
      path: "assembly/index.ts",
      text: `// A dwe workflow: every call to the host (time, logs, HTTP, commands, sleeps) is journaled,
// so a run killed anywhere resumes where it stopped (\`dwe resume RUN\`).
import { inputJson, outputJson, log, now, sleep, Json, JsonObject } from "dwe/guest-sdk/assemblyscript";

export function run(): void {
  const input = inputJson();
  const name = input.isObject ? (<JsonObject>input).getString("name", "world") : "world";
  const started = now();
  log("hello, " + name);
  sleep(100); // durable: a crash here does not log the greeting twice
  outputJson(Json.obj().setString("greeting", "hello, " + name).setNumber("started_ms", <f64>started));
}
`,
    },
    { path: "tsconfig.json", text: `{\n  "extends": "assemblyscript/std/assembly.json",\n  "include": ["assembly/**/*.ts"]\n}\n` },
    { path: ".gitignore", text: "node_modules/\nbuild/\n.dwe/\n" },
    {
      path: "README.md",
      text: `# ${s.name}

A [dwe](https://www.npmjs.com/package/dwe) workflow in AssemblyScript.

\`\`\`sh
npm install
npm run build          # assembly/index.ts -> build/${s.name}.wasm
npx dwe run build/${s.name}.wasm --input '{"name":"ana"}'
\`\`\`

The SDK is \`dwe/guest-sdk/assemblyscript\` (its README lists every call). Code at the top level of
\`assembly/index.ts\` runs before dwe can serve it: call the SDK inside the exported \`run\`.
`,
    },
  ];
}
