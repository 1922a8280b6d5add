#!/usr/bin/env bash
# Installs the Debian Rust toolchain with the wasm32-wasi standard library
# (rustc/cargo 1.63 on bookworm), which the Rust examples and guest SDK need.
#
# rustup toolchains here cannot download the wasm32 target, so we use Debian's
# packages: rustc, cargo, libstd-rust-dev-wasm32 (std for wasm32-wasi) and lld
# (the wasm linker, rust-lld/wasm-ld).
#
# Idempotent: does nothing when everything is present; runs `apt-get update`
# only when a package must be installed. Also links the toolchain into rustup
# as `debian` (if rustup exists) so `cargo +debian` works.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
PKGS=(rustc cargo libstd-rust-dev-wasm32 lld)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-rust.sh: must run as root (or with sudo available)" >&2; exit 1
  fi
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

have_std() { ls -d /usr/lib/rustlib/wasm32-wasi/lib 2>/dev/null | grep -q . ; }

if [ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] && have_std && [ ${#missing[@]} -eq 0 ]; then
  echo "install-rust.sh: Debian Rust toolchain with wasm32-wasi already installed ($(/usr/bin/rustc --version))"
else
  echo "install-rust.sh: installing ${missing[*]:-${PKGS[*]}}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
fi

if ! have_std; then
  echo "install-rust.sh: wasm32-wasi std not found under /usr/lib/rustlib after install" >&2
  exit 1
fi

if command -v rustup >/dev/null 2>&1; then
  if ! rustup toolchain list | grep -q '^debian'; then
    rustup toolchain link debian /usr
    echo "install-rust.sh: linked rustup toolchain 'debian' -> /usr"
  fi
fi

echo "install-rust.sh: ok: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version)"
