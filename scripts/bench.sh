#!/usr/bin/env bash
# Measures Skiff's speed and memory: pulls a large generated image (default 512 MB of
# incompressible layers) in headless Chromium through the release proxy from the rig's
# registry, in both layer formats, and prints a table with curl baselines.
#
#   scripts/bench.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
megabytes=${1:-512}

trunk build --release
cargo build --release -p skiff-proxy
rig_dir=$(mktemp -d /tmp/skiff-bench.XXXXXX)
trap 'tests/rig/rig.sh stop "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"' EXIT
tests/rig/rig.sh start "$rig_dir"
image=$(tests/rig/rig.sh bench-fixture "$rig_dir" "$megabytes")
SKIFF_RIG_DIR="$rig_dir" SKIFF_PROXY_BIN=target/release/skiff-proxy node tests/bench/pull.mjs "$image"
