#!/usr/bin/env bash
# Installs what Skiff needs, skipping what is already there. Safe to run again.
#
#   scripts/setup.sh          what building and serving need: the wasm32 target, trunk and
#                             wasm-bindgen-cli (scripts/serve.sh calls this)
#   scripts/setup.sh --test   also what the tests need: the browsers, the real registry, docker
#                             and podman, the image tools, geckodriver, playwright-core
#                             (scripts/test.sh, scripts/bench.sh and scripts/container.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=false
[[ "${1:-}" == "--test" ]] && for_tests=true

TRUNK_VERSION=0.21.14
# Drives Debian's firefox-esr in the Firefox end-to-end tests (tests/e2e/firefox.test.mjs).
GECKODRIVER_VERSION=0.36.0
CONTAINER_REGISTRY_VERSION=0.3.1
# wasm-bindgen-cli must equal the wasm-bindgen crate version pinned in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[[ -n "$WASM_BINDGEN_VERSION" ]] || { echo "setup: no exact wasm-bindgen pin in Cargo.toml" >&2; exit 1; }

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

install_serving() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [[ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]]; then
    say "installing trunk $TRUNK_VERSION (takes ~8 minutes)"
    cargo install --locked trunk --version "$TRUNK_VERSION" -j"$(nproc)"
  fi
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes ~4 minutes)"
    # Not --locked: its lock file names a dependency version missing from the registry (docs/facts.md §6).
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" -j"$(nproc)"
  fi
}

install_serving
$for_tests || exit 0

# Debian packages: the browsers, the real registry, docker and podman, the image tools.
declare -A APT_FOR=(
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [firefox-esr]=firefox-esr
  [docker-registry]=docker-registry
  [dockerd]=docker.io
  [skopeo]=skopeo
  [umoci]=umoci
  [podman]=podman
  [jq]=jq
  [curl]=curl
  [openssl]=openssl
  [htpasswd]=apache2-utils
  [zstd]=zstd
  [node]=nodejs
  [npm]=npm
  [musl-gcc]=musl-tools
  [nginx]=nginx-light
)
missing=()
for cmd in "${!APT_FOR[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${APT_FOR[$cmd]}")
done
# busybox-static provides the fixture images' /bin/sh; a dynamic busybox would not run in them.
if ! dpkg -s busybox-static >/dev/null 2>&1; then missing+=(busybox-static); fi
# Debian's Python cryptography builds the rig's own Sigstore instance (tests/rig/sigstore_rig.py).
if ! dpkg -s python3-cryptography >/dev/null 2>&1; then missing+=(python3-cryptography); fi
# /usr/bin/docker is Debian's client matching its dockerd (another client may shadow it on PATH).
[[ -x /usr/bin/docker ]] || missing+=(docker.io)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The container image's static binary.
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  say "adding the x86_64-unknown-linux-musl target"
  rustup target add x86_64-unknown-linux-musl
fi

if [[ "$(geckodriver --version 2>/dev/null | head -n 1)" != "geckodriver $GECKODRIVER_VERSION" ]]; then
  say "installing geckodriver $GECKODRIVER_VERSION for the Firefox end-to-end tests (takes ~2 minutes)"
  cargo install --locked geckodriver --version "$GECKODRIVER_VERSION" -j"$(nproc)"
fi

# A second registry implementation for the interop tests (the rig runs it beside Distribution).
if [[ "$(container-registry --version 2>/dev/null | head -n 1)" != "container-registry $CONTAINER_REGISTRY_VERSION" ]]; then
  say "installing container-registry $CONTAINER_REGISTRY_VERSION, a second registry for the interop tests (takes ~3 minutes)"
  cargo install --locked container-registry --version "$CONTAINER_REGISTRY_VERSION" --features bin -j"$(nproc)"
fi

if [[ ! -d tests/e2e/node_modules/playwright-core || ! -d tests/e2e/node_modules/axe-core || ! -d tests/e2e/node_modules/ajv-formats ]]; then
  say "installing playwright-core (it drives Debian's Chromium), axe-core and ajv for the end-to-end tests"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
