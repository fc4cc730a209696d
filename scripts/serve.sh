#!/usr/bin/env bash
# Serves Skiff on http://127.0.0.1:8080/ with its CORS proxy on http://127.0.0.1:8787/.
# Installs what is missing first. Ctrl-C stops both.
#
#   SKIFF_PORT=8080 SKIFF_PROXY_PORT=8787 scripts/serve.sh [extra skiff-proxy flags…]
#   e.g. scripts/serve.sh --allow-host registry.example.com
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

app_port=${SKIFF_PORT:-8080}
proxy_port=${SKIFF_PROXY_PORT:-8787}

cargo build --release -p skiff-proxy
# The app's page is named: a proxy started with --allow-push serves only the origins it is told of.
target/release/skiff-proxy --listen "127.0.0.1:$proxy_port" \
  --allow-origin "http://127.0.0.1:$app_port" --allow-origin "http://localhost:$app_port" "$@" &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null || true' EXIT

echo
echo "  Skiff:  http://127.0.0.1:$app_port/"
echo "  proxy:  http://127.0.0.1:$proxy_port/  (the app's default; change it in the page)"
echo
trunk serve --release --port "$app_port" --address 127.0.0.1
