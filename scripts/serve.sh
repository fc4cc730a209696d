#!/usr/bin/env bash
# Serves Skiff on http://127.0.0.1:8080/: the release build of the app and its CORS proxy on one
# origin (skiff-proxy --serve-app), so the page gets its Content-Security-Policy, no live-reload
# script, and needs no proxy to be set. Installs what is missing first. Ctrl-C stops it.
#
#   SKIFF_PORT=8080 scripts/serve.sh [extra skiff-proxy flags…]
#   e.g. scripts/serve.sh --allow-host registry.example.com
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

port=${SKIFF_PORT:-8080}

# Always a release build: `trunk serve` would add its live-reload script to the page.
trunk build --release
cargo build --release -p skiff-proxy

echo
echo "  Skiff:  http://127.0.0.1:$port/  (the app and its proxy)"
echo
exec target/release/skiff-proxy --listen "127.0.0.1:$port" --serve-app dist "$@"
