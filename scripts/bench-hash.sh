#!/usr/bin/env bash
# SHA-256 in wasm, in Node: sha2 against the core's four-lane Sha256x4 built with simd128,
# after checking the four-lane digests against sha2's in wasm. `scripts/bench-hash.sh [MiB]`.
set -euo pipefail
cd "$(dirname "$0")/../tests/bench/hash"
RUSTFLAGS="-C target-feature=+simd128" cargo build --quiet --release --target wasm32-unknown-unknown
node run.mjs target/wasm32-unknown-unknown/release/skiff_hash_bench.wasm "${1:-256}"
