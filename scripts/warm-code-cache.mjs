// Writes V8's code cache of the bundled CLI (dist/bundle/cli.cjs.<V8 version>.v8-cache; bin/dwe.js,
// docs/architecture.md "The bundle") from a `dwe run` of the hello example, on a temporary database and
// module cache. bin/dwe.js writes the cache only when it finds none, holding the functions the command
// that found none compiled: left to chance, that is whatever command runs first after a build (a worker,
// `dwe --version`), and a `dwe run` then compiles much of its own path at every start (B7 1.64x instead
// of 1.51x `node -e 0`, same session). Run by scripts/prepare.mjs and `npm run build`; best effort: a
// failure leaves the cache to the first command, as before.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundleDir = join(root, "dist", "bundle");
const hello = join(root, "examples", "hello", "build", "hello.wasm");

if (!existsSync(join(bundleDir, "cli.cjs")) || !existsSync(hello)) process.exit(0);
for (const f of readdirSync(bundleDir)) if (f.startsWith("cli.cjs.") && f.endsWith(".v8-cache")) rmSync(join(bundleDir, f));
const dir = mkdtempSync(join(tmpdir(), "dwe-warm-"));
try {
  const r = spawnSync(process.execPath, [join(root, "bin", "dwe.js"), "--db", join(dir, "dwe.db"), "run", hello, "--quiet"], {
    cwd: dir,
    env: { ...process.env, DWE_CACHE_DIR: join(dir, "cache") },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.status !== 0) {
    const why = (r.stderr ?? "").trim().split("\n")[0] || (r.error?.message ?? `exit ${r.status ?? r.signal}`);
    console.error(`dwe warm-code-cache: the warm-up run failed (${why}); the first dwe command writes the cache instead`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
