#!/usr/bin/env bash
# Runs every Skiff test on real parts: formatting and lints (host and wasm32), unit tests, the
# proxy against a real registry, and the end-to-end tests in headless Chromium and Firefox with
# the rig's registry, dockerd and podman. Installs what is missing first.
#
#   scripts/test.sh           everything (what CI runs)
#   scripts/test.sh --quick   daily work: formatting, lints, unit and property tests only
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-$(nproc)}

quick=false
[[ "${1:-}" == "--quick" ]] && quick=true
if $quick; then scripts/setup.sh; else scripts/setup.sh --test; fi

step "cargo fmt --check"
cargo fmt --all --check

step "clippy (host)"
cargo clippy --workspace --all-targets -- -D warnings

step "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown -p skiff -p skiff-core --all-targets -- -D warnings

if $quick; then
  step "unit and property tests"
  cargo test --workspace --lib --bins
  cargo test -p skiff-core --test properties
  cargo test -p skiff-proxy --test properties
  exit 0
fi

step "unit tests and proxy tests against a real registry"
cargo test --workspace

step "build the app (trunk) and the proxy"
trunk build --release
cargo build -p skiff-proxy

step "end-to-end: headless Chromium and Firefox, real registry, real dockerd and podman"
rig_dir=$(mktemp -d /tmp/skiff-rig.XXXXXX)
trap 'tests/rig/rig.sh stop "$rig_dir" >/dev/null 2>&1 || true' EXIT
tests/rig/rig.sh start "$rig_dir"
SKIFF_RIG_DIR="$rig_dir" node --test --test-concurrency=1 tests/e2e/
