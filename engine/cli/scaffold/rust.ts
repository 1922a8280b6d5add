// The files `dwe init --lang rust DIR` writes: a cdylib crate on dwe's Rust SDK (a path dependency,
// no crates from a registry) that builds for wasm32-wasi with `cargo build --release`.
import type { ScaffoldFile, ScaffoldSpec } from "./types.js";

export function rustProject(s: ScaffoldSpec): ScaffoldFile[] {
  const crate = s.name.replace(/-/g, "_");
  return [
    {
      path: "Cargo.toml",
      text: `[package]
name = "${s.name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[dependencies]
dwe = { path = ${JSON.stringify(s.rustSdk)} }

[profile.release]
opt-level = "s"
lto = true
strip = true
panic = "abort"
`,
    },
    { path: ".cargo/config.toml", text: `[build]\ntarget = "wasm32-wasi"\n` },
    {
      path: "src/lib.rs",
      text: `//! A dwe workflow: every call to the host (time, logs, HTTP, commands, sleeps) is journaled,
//! so a run killed anywhere resumes where it stopped (\`dwe resume RUN\`).

use dwe::json::Value;
use dwe::Level;

fn workflow() -> Result<(), dwe::Error> {
    let input = dwe::input_json()?;
    let name = input.get("name").and_then(Value::as_str).unwrap_or("world").to_string();
    let started = dwe::now_ms();
    dwe::log(Level::Info, &format!("hello, {}", name));
    dwe::sleep_ms(100); // durable: a crash here does not log the greeting twice
    dwe::output_json(&Value::object(vec![
        ("greeting", Value::from(format!("hello, {}", name))),
        ("started_ms", Value::from(started)),
    ]));
    Ok(())
}

dwe::entry!(workflow);
`,
    },
    { path: ".gitignore", text: "target/\n.dwe/\n" },
    {
      path: "README.md",
      text: `# ${s.name}

A [dwe](https://www.npmjs.com/package/dwe) workflow in Rust, on dwe's Rust SDK (no other crates).

\`\`\`sh
cargo build --release  # -> target/wasm32-wasi/release/${crate}.wasm
npx dwe run target/wasm32-wasi/release/${crate}.wasm --input '{"name":"ana"}'
\`\`\`

It needs a Rust toolchain with the wasm32-wasi standard library, e.g. Debian's
(\`apt-get install rustc cargo libstd-rust-dev-wasm32 lld\`; under rustup run
\`RUSTC=/usr/bin/rustc /usr/bin/cargo build --release\`).
`,
    },
  ];
}
