#!/usr/bin/env bash
# Measures Skiff against skopeo and docker, on the rig's registry (loopback only):
#   speed:  a SPEED_MB image (default 1024), RUNS runs (default 3), each run pairing
#           `skopeo copy` → docker-archive, `docker pull` + `docker save`, and Skiff (release
#           build, headless Chromium with an on-disk profile), with Skiff's times as ratios,
#           each process's CPU seconds per GB and the SHA-256 that checked each layer; then the
#           same for a realistic image (layer sizes like node:20's, 392 MB);
#   memory: Chromium's PSS idle and at peak, pulling the SPEED_MB image and a MEMORY_MB image
#           (default 3072; 0 skips it), the layer workers' wasm memory, the longest main-thread task;
#   push:   both images copied registry to registry (`skopeo copy` against Skiff's copy) and
#           pushed from an archive (`skopeo copy docker-archive:` against Skiff's push), with
#           Chromium's PSS at peak.
#
#   scripts/bench.sh [SPEED_MB] [MEMORY_MB] [RUNS]
#
# BENCH_SETTINGS='{"parallelLayers": 2, "nativeHashBytes": 0}' runs Skiff with other engine settings
# (src/services/prefs.rs lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
speed_mb=${1:-1024}
memory_mb=${2:-3072}
runs=${3:-3}

trunk build --release
cargo build --release -p skiff-proxy
rig_dir=$(mktemp -d /tmp/skiff-bench.XXXXXX)
trap 'tests/rig/rig.sh stop "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"' EXIT
tests/rig/rig.sh start "$rig_dir"
speed_image=$(tests/rig/rig.sh bench-fixture "$rig_dir" "$speed_mb" speed)
# Layer sizes like node:20's (MB, compressed): a base, a few mid-sized, one large, two small.
realistic_image=$(tests/rig/rig.sh bench-layers "$rig_dir" realistic 49 24 64 211 3 40 1)
memory_image=""
if ((memory_mb > 0)); then
  memory_image=$(tests/rig/rig.sh bench-fixture "$rig_dir" "$memory_mb" memory)
fi
SKIFF_RIG_DIR="$rig_dir" SKIFF_PROXY_BIN=target/release/skiff-proxy \
  node tests/bench/pull.mjs "$speed_image" "$memory_image" "$runs" "$realistic_image"
SKIFF_RIG_DIR="$rig_dir" SKIFF_PROXY_BIN=target/release/skiff-proxy \
  node tests/bench/push.mjs "$speed_image" ${memory_image:+"$memory_image"}
