// What a plain `dwe run` loads (docs/observability.md): neither prom-client nor OpenTelemetry,
// which are imported only when metrics are asked for or an OTLP endpoint is set. The real process
// records every module it resolves: ES modules through a resolution hook, and CommonJS (the CLI's
// bundle requires its external packages) through Module._resolveFilename.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DWE, workdir } from "./support/cli.js";
import { telemetryGuest } from "./support/telemetry-guest.js";

const TELEMETRY_PACKAGES = /node_modules\/(prom-client|@opentelemetry)\//;

describe("telemetry is loaded only when used", () => {
  let w: ReturnType<typeof workdir>;
  let hook: string;
  let log: string;
  beforeEach(() => {
    w = workdir("dwe-telemetry-loading-");
    log = join(w.dir, "resolved.txt");
    writeFileSync(log, "");
    writeFileSync(
      join(w.dir, "resolve-hook.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}`,
    );
    hook = join(w.dir, "register.mjs");
    writeFileSync(
      hook,
      [
        `import Module, { register } from "node:module";`,
        `import { appendFileSync } from "node:fs";`,
        `register(${JSON.stringify("file://" + join(w.dir, "resolve-hook.mjs"))});`,
        `const resolveFilename = Module._resolveFilename;`,
        `Module._resolveFilename = function (...args) {`,
        `  const file = resolveFilename.apply(this, args);`,
        `  appendFileSync(${JSON.stringify(log)}, file + "\\n");`,
        `  return file;`,
        `};`,
      ].join("\n"),
    );
  });
  afterEach(() => w.cleanup());

  const run = (env: Record<string, string>) => {
    // Port 9 (discard) on loopback: the request fails at once; the run still ends (the guest ignores the answer).
    const wasm = telemetryGuest(w.dir, "http://127.0.0.1:9/", 0);
    const r = spawnSync(process.execPath, ["--import", hook, DWE, "--db", w.db, "run", wasm, "--allow-net", "127.0.0.1"], {
      cwd: w.dir,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    return readFileSync(log, "utf8").split("\n");
  };

  it("a plain dwe run resolves no telemetry package", () => {
    const resolved = run({});
    // The recording works: the store's driver is always loaded.
    expect(resolved.some((u) => /node_modules\/better-sqlite3\//.test(u))).toBe(true);
    expect(resolved.filter((u) => TELEMETRY_PACKAGES.test(u))).toEqual([]);
  });

  it("with OTEL_EXPORTER_OTLP_ENDPOINT set it loads OpenTelemetry, and still not prom-client", () => {
    // Nothing listens there: the export fails quietly and the run is not affected.
    const resolved = run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    expect(resolved.some((u) => /node_modules\/@opentelemetry\//.test(u))).toBe(true);
    expect(resolved.some((u) => /node_modules\/prom-client\//.test(u))).toBe(false);
  });
});
