#!/usr/bin/env bash
# The real test rig: Debian's docker-registry on loopback with fixture images built from
# busybox-static by umoci and pushed by skopeo, and Debian's dockerd on a private socket.
#
#   tests/rig/rig.sh start DIR   # starts everything, writes DIR/env.json and DIR/env.sh
#   tests/rig/rig.sh stop DIR    # stops what start started
#
# Every port is on 127.0.0.1 and picked free at start.
set -euo pipefail

cmd=${1:?usage: rig.sh start|stop DIR}
dir=${2:?usage: rig.sh start|stop DIR}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "rig: $what did not come up in ${seconds}s" >&2
  return 1
}

stop() {
  for name in registry dockerd; do
    if [[ -f "$dir/$name.pid" ]]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
  # dockerd's own containerd and any container shims.
  pkill -f "containerd.*$dir/docker" 2>/dev/null || true
  # vfs layers of the private dockerd can be large; the caller may keep DIR for logs.
  rm -rf "$dir/docker/data" "$dir/podman" 2>/dev/null || true
}

start_registry() {
  registry_port=$(free_port)
  mkdir -p "$dir/registry"
  cat > "$dir/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry/data
http:
  addr: 127.0.0.1:$registry_port
YAML
  docker-registry serve "$dir/registry/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$dir/registry.pid"
  wait_for 20 "docker-registry" curl -sf "http://127.0.0.1:$registry_port/v2/"
}

# umoci adds one layer per unpack/modify/repack round.
add_layer() { # add_layer IMAGE-REF FUNCTION
  local bundle="$dir/bundle-$RANDOM"
  umoci unpack --image "$1" "$bundle" > /dev/null
  "$2" "$bundle/rootfs"
  umoci repack --image "$1" "$bundle" > /dev/null
  rm -rf "$bundle"
}

layer_busybox() {
  mkdir -p "$1/bin"
  cp /bin/busybox "$1/bin/busybox"
  for applet in sh cat echo ls; do ln -sf busybox "$1/bin/$applet"; done
}
layer_message() {
  mkdir -p "$1/etc/skiff"
  echo "hello from the skiff fixture" > "$1/etc/skiff/message"
}
layer_script() {
  mkdir -p "$1/usr/local/bin"
  printf '#!/bin/sh\ncat /etc/skiff/message\necho "fixture layers: 3"\n' > "$1/usr/local/bin/skiff-hello"
  chmod +x "$1/usr/local/bin/skiff-hello"
}
layer_unique_payload() {
  mkdir -p "$1/payload"
  head -c 3000000 /dev/urandom > "$1/payload/random.bin"
}

build_fixtures() {
  local oci="$dir/oci"
  umoci init --layout "$oci"
  umoci new --image "$oci:busybox"
  add_layer "$oci:busybox" layer_busybox
  add_layer "$oci:busybox" layer_message
  add_layer "$oci:busybox" layer_script
  umoci config --image "$oci:busybox" --config.cmd /usr/local/bin/skiff-hello --author skiff-rig
  # Same layers, different config: a distinct image for the OCI-media-type fixture.
  umoci config --image "$oci:busybox" --tag oci-variant --config.label skiff.fixture=oci
  umoci config --image "$oci:busybox" --tag corrupt-base --config.label skiff.fixture=corrupt
  add_layer "$oci:corrupt-base" layer_unique_payload

  local dest="docker://127.0.0.1:$registry_port"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:busybox" "$dest/skiff/busybox:v2s2"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:oci-variant" "$dest/skiff/busybox:oci"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:corrupt-base" "$dest/skiff/corrupt:latest"
}

# Flips bytes in the middle of the corrupt fixture's unique (last) layer, on the registry's disk,
# keeping its size: the registry then serves wrong bytes under the right digest.
corrupt_fixture() {
  local manifest layer hex data
  manifest=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$registry_port/v2/skiff/corrupt/manifests/latest")
  layer=$(jq -r '.layers[-1].digest' <<<"$manifest")
  hex=${layer#sha256:}
  data="$dir/registry/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
  [[ -f "$data" ]] || { echo "rig: blob file $data not found" >&2; return 1; }
  printf 'CORRUPTED-BY-SKIFF-RIG' | dd of="$data" bs=1 seek=1000 conv=notrunc status=none
  corrupt_layer=$layer
}

start_dockerd() {
  mkdir -p "$dir/docker"
  echo '{}' > "$dir/docker/daemon.json"
  dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
    --data-root="$dir/docker/data" --exec-root="$dir/docker/exec" --pidfile="$dir/docker/dockerd.pidfile" \
    -H "unix://$dir/docker/docker.sock" --config-file="$dir/docker/daemon.json" \
    > "$dir/dockerd.log" 2>&1 &
  echo $! > "$dir/dockerd.pid"
  wait_for 60 "dockerd" env DOCKER_HOST="unix://$dir/docker/docker.sock" /usr/bin/docker version
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    start_registry
    build_fixtures
    corrupt_fixture
    start_dockerd
    cat > "$dir/env.json" <<JSON
{
  "registry": "127.0.0.1:$registry_port",
  "dockerHost": "unix://$dir/docker/docker.sock",
  "podmanRoot": "$dir/podman",
  "corruptLayer": "$corrupt_layer",
  "fixtures": {
    "v2s2": "127.0.0.1:$registry_port/skiff/busybox:v2s2",
    "oci": "127.0.0.1:$registry_port/skiff/busybox:oci",
    "corrupt": "127.0.0.1:$registry_port/skiff/corrupt:latest"
  }
}
JSON
    printf 'export SKIFF_RIG_REGISTRY=127.0.0.1:%s\nexport DOCKER_HOST=unix://%s/docker/docker.sock\n' \
      "$registry_port" "$dir" > "$dir/env.sh"
    echo "rig: registry on 127.0.0.1:$registry_port, dockerd on $dir/docker/docker.sock"
    ;;
  stop)
    stop
    ;;
  *)
    echo "usage: rig.sh start|stop DIR" >&2
    exit 2
    ;;
esac
