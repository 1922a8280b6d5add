#!/usr/bin/env node
// Builds the Rust examples (every examples/*/Cargo.toml) for wasm32-wasi in release mode
// and writes examples/NAME/build/NAME.wasm with all custom sections stripped.
//
//   node scripts/build-rust.mjs [--opt] [NAME...]
//
//   NAME   build only these examples (default: all Rust examples)
//   --opt  also optimize for size with binaryen (the npm package, -Oz equivalent)
//
// Toolchain: Debian's rustc/cargo 1.63 with libstd-rust-dev-wasm32 (rustup here has no
// wasm32 target). Uses `cargo +debian` when a `debian` rustup toolchain is linked, else
// /usr/bin/cargo with RUSTC=/usr/bin/rustc. Install with scripts/install-rust.sh.
// Cargo's target dir is <repo>/target (gitignored). Crates have no registry
// dependencies, and cargo runs with --offline.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = "wasm32-wasi";
const args = process.argv.slice(2);
const optimize = args.includes("--opt");
const only = args.filter((a) => !a.startsWith("--"));

function die(msg) {
  console.error(`build-rust: ${msg}`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  return spawnSync(cmd, argv, { encoding: "utf8", ...opts });
}

/** Finds a Rust toolchain that has the wasm32-wasi standard library. */
function findToolchain() {
  const candidates = [];
  const rustup = run("rustup", ["toolchain", "list"]);
  if (rustup.status === 0 && /^debian\b/m.test(rustup.stdout)) {
    candidates.push({ label: "cargo +debian", cargo: "cargo", pre: ["+debian"], rustc: ["rustc", ["+debian"]], env: {} });
  }
  if (fs.existsSync("/usr/bin/cargo") && fs.existsSync("/usr/bin/rustc")) {
    // Without RUSTC, /usr/bin/cargo would pick up rustup's rustc from PATH.
    candidates.push({
      label: "/usr/bin/cargo",
      cargo: "/usr/bin/cargo",
      pre: [],
      rustc: ["/usr/bin/rustc", []],
      env: { RUSTC: "/usr/bin/rustc" },
    });
  }
  for (const c of candidates) {
    const sr = run(c.rustc[0], [...c.rustc[1], "--print", "sysroot"]);
    if (sr.status !== 0) continue;
    const std = path.join(sr.stdout.trim(), "lib", "rustlib", TARGET, "lib");
    if (fs.existsSync(std) && fs.readdirSync(std).some((f) => f.startsWith("libstd-"))) {
      const v = run(c.rustc[0], [...c.rustc[1], "--version"]).stdout.trim();
      return { ...c, version: v };
    }
  }
  die(
    `no Rust toolchain with the ${TARGET} standard library found ` +
      `(looked for a rustup toolchain named "debian" and /usr/bin/cargo).\n` +
      `  Install it with: scripts/install-rust.sh   (Debian packages rustc cargo libstd-rust-dev-wasm32 lld)`,
  );
}

/** Removes every custom section (names, producers, target_features, debug info). */
function stripCustomSections(buf) {
  const out = [buf.subarray(0, 8)];
  let p = 8;
  while (p < buf.length) {
    const start = p;
    const id = buf[p++];
    let size = 0;
    let shift = 0;
    let b;
    do {
      b = buf[p++];
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    p += size;
    if (p > buf.length) die("malformed wasm output (section runs past the end)");
    if (id !== 0) out.push(buf.subarray(start, p));
  }
  return Buffer.concat(out);
}

async function optimizeWasm(buf) {
  const { default: binaryen } = await import("binaryen");
  const mod = binaryen.readBinary(buf);
  // Rust 1.63's wasm32 default features: MVP + mutable globals (+ sign-ext is harmless).
  mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals | binaryen.Features.SignExt);
  binaryen.setOptimizeLevel(2);
  binaryen.setShrinkLevel(2);
  binaryen.setDebugInfo(false);
  mod.optimize();
  if (!mod.validate()) die("binaryen produced an invalid module");
  const out = Buffer.from(mod.emitBinary());
  mod.dispose();
  return out;
}

const examplesDir = path.join(root, "examples");
let names = fs
  .readdirSync(examplesDir)
  .filter((n) => fs.existsSync(path.join(examplesDir, n, "Cargo.toml")))
  .sort();
if (only.length) {
  const missing = only.filter((n) => !names.includes(n));
  if (missing.length) die(`not Rust examples: ${missing.join(", ")} (have: ${names.join(", ")})`);
  names = only;
}
if (!names.length) die("no Rust examples (examples/*/Cargo.toml) found");

const tc = findToolchain();
console.log(`build-rust: ${tc.label} (${tc.version}), target ${TARGET}${optimize ? ", binaryen -Oz" : ""}`);

// Panic locations embed source paths; map the checkout's path away so the output does not
// depend on where the repository lives (guest-sdk/rust/src/... instead of /home/.../src/...).
const rustflags = [process.env.RUSTFLAGS ?? "", `--remap-path-prefix=${root}${path.sep}=`].join(" ").trim();
const env = {
  ...process.env,
  ...tc.env,
  CARGO_TARGET_DIR: path.join(root, "target"),
  CARGO_NET_OFFLINE: "true",
  RUSTFLAGS: rustflags,
};
let failed = false;
for (const name of names) {
  const manifest = path.join(examplesDir, name, "Cargo.toml");
  const res = run(
    tc.cargo,
    [
      ...tc.pre,
      "build",
      "--release",
      "--offline",
      "--target",
      TARGET,
      "--manifest-path",
      manifest,
      "--message-format=json-render-diagnostics",
    ],
    { cwd: path.join(examplesDir, name), env, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
  );
  if (res.status !== 0) {
    console.error(`build-rust: ${name}: cargo failed (exit ${res.status ?? res.signal})`);
    failed = true;
    continue;
  }
  // The artifact of this manifest's package: a bin (_start) or a cdylib (run).
  const wasm = res.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .filter((m) => m.reason === "compiler-artifact" && m.manifest_path === manifest)
    .flatMap((m) => m.filenames)
    .filter((f) => f.endsWith(".wasm"));
  if (wasm.length !== 1) {
    console.error(`build-rust: ${name}: expected one .wasm artifact, got ${JSON.stringify(wasm)}`);
    failed = true;
    continue;
  }
  let buf = stripCustomSections(fs.readFileSync(wasm[0]));
  if (optimize) buf = await optimizeWasm(buf);
  new WebAssembly.Module(buf); // sanity check: it must compile
  const dest = path.join(examplesDir, name, "build", `${name}.wasm`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.writeFileSync(dest, buf);
  console.log(`build-rust: ${path.relative(root, dest)} ${buf.length} bytes`);
}
if (failed) process.exit(1);
