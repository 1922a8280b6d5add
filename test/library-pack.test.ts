// The npm package: `npm pack` builds dist/ (prepack) into a tarball that installs into an empty
// project and works there: `import { Dwe } from "dwe"` runs an example and reads its result, the
// types resolve through "exports" (a consumer's `tsc --noEmit` passes), the guest SDK is reachable as
// `dwe/guest-sdk/assemblyscript`, and the `dwe` binary runs a pipeline with the shipped workflow from the
// bundled CLI (dist/bundle/).
import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT, example } from "./support/cli.js";

const base = mkdtempSync(join(tmpdir(), "dwe-pack-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const run = promisify(execFile);

/** Runs a command to completion (asynchronously: a build of minutes must not block the test runner); its stdout. */
async function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const r = await run(cmd, args, {
      cwd,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    return r.stdout;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed (${e.code}):\n${e.stdout}\n${e.stderr}`);
  }
}

const CONSUMER_TS = `import { Dwe, RunFailed, type RunInfo, type StartOptions } from "dwe";

const options: StartOptions = { input: { name: "pack" }, grants: { net: ["127.0.0.1"] } };
const dwe = await Dwe.open({ db: "consumer.db" });
const run = await dwe.start(new URL("./hello.wasm", import.meta.url).pathname, options);
const out = (await run.result()) as { greeting: string };
const info: RunInfo = await run.info();
console.log(JSON.stringify({ out, status: info.status, failed: RunFailed.name }));
await dwe.close();
`;

describe("npm pack", () => {
  it(
    "makes a tarball with dist/ that installs into an empty project, where the API runs an example and the CLI a pipeline",
    { timeout: 1_200_000 },
    async () => {
      // Packed from a copy of the source tree (what git has, committed or not, nothing ignored), so the
      // build that `npm pack` runs (prepack) starts from no dist/ and never rewrites the one other tests use.
      const src = join(base, "src");
      for (const f of (await sh("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT)).split("\0")) {
        if (f === "" || f.startsWith("test/") || !existsSync(join(ROOT, f))) continue;
        mkdirSync(dirname(join(src, f)), { recursive: true });
        cpSync(join(ROOT, f), join(src, f));
      }
      symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));
      await sh("npm", ["pack", "--pack-destination", base], src);
      const tarball = readdirSync(base).find((f) => f.endsWith(".tgz"))!;
      expect(tarball).toBe("dwe-0.1.0.tgz");
      const listing = await sh("tar", ["tzf", join(base, tarball)], base);
      expect(listing).toContain("package/dist/engine/api/index.js");
      expect(listing).toContain("package/dist/engine/api/index.d.ts");
      expect(listing).toContain("package/dist/bundle/cli.cjs");
      expect(listing).toContain("package/dist/bundle/attempt-thread-main.js");
      expect(listing).toContain("package/guest-sdk/pipeline/build/pipeline.wasm");
      expect(listing).not.toContain("package/test/");

      const app = join(base, "app");
      mkdirSync(app);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }));
      // From the npm cache when it holds the dependencies (the network only for what it lacks). Install
      // scripts are skipped: better-sqlite3's compiles its addon from source here, which takes minutes;
      // the addon this checkout built is the same version for the same Node, so it is copied in.
      await sh("npm", ["install", join(base, tarball), "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], app);
      const addon = (dir: string) => join(dir, "node_modules", "better-sqlite3");
      const version = (dir: string) => (JSON.parse(readFileSync(join(addon(dir), "package.json"), "utf8")) as { version: string }).version;
      if (version(app) === version(ROOT) && existsSync(join(addon(ROOT), "build", "Release", "better_sqlite3.node"))) {
        cpSync(join(addon(ROOT), "build"), join(addon(app), "build"), { recursive: true });
      } else {
        await sh("npm", ["rebuild", "better-sqlite3"], app);
      }

      // Types: the consumer's program type-checks against the installed package's declarations.
      writeFileSync(join(app, "main.ts"), CONSUMER_TS);
      cpSync(example("hello"), join(app, "hello.wasm"));
      writeFileSync(
        join(app, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "NodeNext",
            moduleResolution: "NodeNext",
            target: "ES2022",
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
          },
          files: ["main.ts"],
        }),
      );
      await sh(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], app);

      // The same program, run (as JavaScript: the types stripped by hand is all tsc would do here).
      const js = CONSUMER_TS.replace(", type RunInfo, type StartOptions", "")
        .replace(": StartOptions", "")
        .replace(": RunInfo", "")
        .replace(" as { greeting: string }", "");
      writeFileSync(join(app, "main.mjs"), js);
      const out = JSON.parse(await sh(process.execPath, ["main.mjs"], app)) as unknown;
      expect(out).toEqual({ out: { greeting: "hello, pack" }, status: "completed", failed: "RunFailed" });

      const sdk = await sh(
        process.execPath,
        ["--input-type=module", "-e", 'console.log(import.meta.resolve("dwe/guest-sdk/assemblyscript"))'],
        app,
      );
      expect(sdk.trim()).toMatch(/node_modules\/dwe\/guest-sdk\/assemblyscript\/index\.ts$/);

      // The binary starts the bundled CLI: without the compiled one it still runs the pipeline.
      rmSync(join(app, "node_modules", "dwe", "dist", "engine", "cli"), { recursive: true });
      mkdirSync(join(app, "work"));
      writeFileSync(join(app, "p.yaml"), "jobs:\n  j:\n    steps:\n      - name: s\n        run: echo from-the-package\n");
      const cli = await sh(
        process.execPath,
        [
          join(app, "node_modules", "dwe", "bin", "dwe.js"),
          "--db",
          "cli.db",
          "pipeline",
          "p.yaml",
          "--allow-shell",
          "--dir",
          join(app, "work"),
        ],
        app,
      );
      expect(cli).toContain("[j/s] from-the-package\n");
    },
  );
});
