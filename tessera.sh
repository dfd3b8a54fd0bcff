#!/usr/bin/env bash
# Tessera's front door on a fresh Debian/Ubuntu machine:
#   ./tessera.sh demo [ARGS]   set up what is missing, build, boot the vault demo
#                              (cargo xtask run --example vault ARGS)
#   ./tessera.sh test [ARGS]   set up what is missing, run every test (cargo xtask test ARGS)
#   ./tessera.sh setup         only set up
# Setting up = a Rust toolchain (rustup, if cargo is missing), then the Debian packages
# the emulators and the ISO need (`cargo xtask setup`: apt-get when root, otherwise it
# prints the command to run with sudo).
set -euo pipefail
cd "$(dirname "$0")"

need_rust() {
  if command -v cargo >/dev/null 2>&1; then return; fi
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; return; fi
  echo "tessera: no Rust toolchain found; installing rustup (https://rustup.rs) for $(id -un)" >&2
  if ! command -v curl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends curl ca-certificates
    else echo "tessera: install curl first: sudo apt-get install -y curl" >&2; exit 1; fi
  fi
  if ! command -v cc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends build-essential
    else echo "tessera: install a C toolchain first (cargo's build scripts link with it): sudo apt-get install -y build-essential" >&2; exit 1; fi
  fi
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
  export PATH="$HOME/.cargo/bin:$PATH"
}

cmd="${1:-demo}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) need_rust; cargo xtask setup ;;
  demo)  need_rust; cargo xtask setup; cargo xtask run --example vault "$@" ;;
  test)  need_rust; cargo xtask setup; cargo xtask test "$@" ;;
  *) echo "usage: ./tessera.sh demo|test|setup [ARGS]" >&2; exit 2 ;;
esac
