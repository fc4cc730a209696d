#!/usr/bin/env bash
# Builds the Skiff container image: skiff-proxy as a static musl binary plus the built app, in
# an image FROM scratch (deploy/Dockerfile).
#   scripts/container.sh [TAG]        (default skiff:latest; uses $DOCKER_HOST like docker does)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-skiff:latest}
scripts/setup.sh --test
say() { printf '\033[1mcontainer:\033[0m %s\n' "$*"; }

say "building skiff-proxy for x86_64-unknown-linux-musl (static)"
cargo build --release --locked -p skiff-proxy --target x86_64-unknown-linux-musl -j"$(nproc)"
say "building the app"
trunk build --release

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp target/x86_64-unknown-linux-musl/release/skiff-proxy "$context/"
cp -r dist "$context/dist"
cp deploy/Dockerfile "$context/"
# The classic builder: Debian's docker.io may come without buildx.
say "docker build -t $tag"
DOCKER_BUILDKIT=0 /usr/bin/docker build -q -t "$tag" "$context"
