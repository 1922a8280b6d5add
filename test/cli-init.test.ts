// `dwe init` (issue 14 §6): a scaffolded workflow project builds with its one command and runs
// under dwe. The AssemblyScript project uses this repository's assemblyscript and dwe as its
// node_modules (linked, as `npm install` would install them, without a network install); the Rust
// one builds with Debian's toolchain and the SDK as a path dependency (no crates).
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, dwe, workdir } from "./support/cli.js";

/** Runs a build command to its end without blocking this thread (a build takes a while; vitest must hear from the test meanwhile). */
function build(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (status) => done({ status, stderr }));
  });
}

const w = workdir("dwe-init-");
afterAll(() => w.cleanup());
const cli = (args: string[]) => dwe(args, { cwd: w.dir, db: w.db });

/** Debian's cargo and rustc with the wasm32-wasi standard library (scripts/install-rust.sh). */
const rustReady = existsSync("/usr/bin/cargo") && existsSync("/usr/bin/rustc");
if (!rustReady && process.env.CI) throw new Error("Debian's Rust toolchain is missing; run scripts/install-rust.sh");

describe("dwe init", () => {
  it("scaffolds an AssemblyScript project that `npm run build` builds, importing dwe/guest-sdk/assemblyscript", async () => {
    const made = cli(["init", "hello-flow", "--json"]);
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    const dir = join(w.dir, "hello-flow");
    expect(JSON.parse(made.stdout)).toMatchObject({
      dir,
      lang: "assemblyscript",
      build: "npm install && npm run build",
      wasm: "build/hello-flow.wasm",
    });
    expect(readFileSync(join(dir, "assembly", "index.ts"), "utf8")).toContain('from "dwe/guest-sdk/assemblyscript"');
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(["assemblyscript", "dwe"]);
    // What `npm install` would put there, from this repository.
    mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", "assemblyscript"), join(dir, "node_modules", "assemblyscript"));
    symlinkSync(ROOT, join(dir, "node_modules", "dwe"));
    symlinkSync(join("..", "assemblyscript", "bin", "asc.js"), join(dir, "node_modules", ".bin", "asc"));
    const built = await build("npm", ["run", "build"], dir);
    expect(built.status, built.stderr).toBe(0);
    const run = dwe(["run", join(dir, "build", "hello-flow.wasm"), "--input", '{"name":"ana"}'], { cwd: dir, db: w.db });
    expect(run.stderr).toContain("hello, ana");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ greeting: "hello, ana" });
  }, 120_000);

  it("refuses a directory that is not empty and an unknown --lang, writing nothing", () => {
    const full = join(w.dir, "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    const r = cli(["init", full]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`dwe: error: cannot init ${full}: it is not empty; give a new or empty directory\n`);
    const lang = cli(["init", join(w.dir, "x"), "--lang", "cobol"]);
    expect(lang.stderr).toBe("dwe: error: bad --lang 'cobol': use assemblyscript or rust\n");
    expect(existsSync(join(w.dir, "x"))).toBe(false);
  });

  (rustReady ? it : it.skip)(
    "scaffolds a Rust project that `cargo build --release` builds for wasm32-wasi with the SDK as a path dependency",
    async () => {
      const made = cli(["init", "--lang", "rust", "rusty"]);
      expect(made.code, made.stderr).toBe(0);
      const dir = join(w.dir, "rusty");
      expect(readFileSync(join(dir, "Cargo.toml"), "utf8")).toContain(
        `dwe = { path = ${JSON.stringify(join(ROOT, "guest-sdk", "rust"))} }`,
      );
      const built = await build("/usr/bin/cargo", ["build", "--release", "--offline"], dir, { RUSTC: "/usr/bin/rustc" });
      expect(built.status, built.stderr).toBe(0);
      const wasm = join(dir, "target", "wasm32-wasi", "release", "rusty.wasm");
      const run = dwe(["run", wasm, "--input", '{"name":"ana"}'], { cwd: dir, db: w.db });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ greeting: "hello, ana" });
    },
    300_000,
  );
});
