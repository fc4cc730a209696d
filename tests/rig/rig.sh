#!/usr/bin/env bash
# The real test rig: Debian's docker-registry on loopback with fixture images built from
# busybox-static by umoci and pushed by skopeo, and Debian's dockerd on a private socket.
#
#   tests/rig/rig.sh start DIR   # starts everything, writes DIR/env.json and DIR/env.sh
#   tests/rig/rig.sh stop DIR    # stops what start started
#
# Every port is on 127.0.0.1 and picked free at start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
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
  for pidfile in "$dir"/*.pid; do
    if [[ -f "$pidfile" ]]; then
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
  done
  # dockerd's own containerd and any container shims.
  pkill -f "containerd.*$dir/docker" 2>/dev/null || true
  # vfs layers of the private dockerd can be large; the caller may keep DIR for logs.
  rm -rf "$dir/docker/data" "$dir/podman" 2>/dev/null || true
}

# serve_registry NAME PORT [EXTRA-YAML]: a Distribution registry on the rig's one storage.
serve_registry() {
  mkdir -p "$dir/registry"
  cat > "$dir/registry/$1.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/registry/data
http:
  addr: 127.0.0.1:$2
${3:-}
YAML
  docker-registry serve "$dir/registry/$1.yml" > "$dir/registry-$1.log" 2>&1 &
  echo $! > "$dir/registry-$1.pid"
}

start_registry() {
  registry_port=$(free_port)
  # Foreign layers' URLs must be allowed explicitly; the rig's CDN is on loopback.
  serve_registry open "$registry_port" "validation:
  manifests:
    urls:
      allow:
        - ^http://127[.]0[.]0[.]1:[0-9]+/"
  wait_for 20 "docker-registry" curl -sf "http://127.0.0.1:$registry_port/v2/"
}

# The no-proxy path: CNCF Distribution as a pull-through cache (a registry mirror) of the open
# registry, sending CORS headers itself, so the app talks to it with the proxy field empty. Its
# own storage: a mirror fills as it is pulled from.
start_mirror() {
  mirror_port=$(free_port)
  mkdir -p "$dir/mirror"
  cat > "$dir/mirror/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/mirror/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$mirror_port
  headers:
    Access-Control-Allow-Origin: ["*"]
    Access-Control-Allow-Methods: ["GET", "HEAD", "OPTIONS"]
    Access-Control-Allow-Headers: ["Authorization", "Accept", "Range"]
    Access-Control-Expose-Headers: ["Docker-Content-Digest", "WWW-Authenticate", "Content-Type", "Content-Length", "Content-Range", "Link"]
proxy:
  remoteurl: http://127.0.0.1:$registry_port
YAML
  docker-registry serve "$dir/mirror/config.yml" > "$dir/registry-mirror.log" 2>&1 &
  echo $! > "$dir/registry-mirror.pid"
  wait_for 20 "the mirror" curl -sf "http://127.0.0.1:$mirror_port/v2/"
}

# Docker Hub's shape: a registry behind token auth (a separate token service signing JWTs) whose
# blob GETs answer 307 to a CDN that rejects Authorization; and an htpasswd (Basic) registry.
# Both serve the same storage as the open registry, so fixtures are pushed once.
start_auth_registries() {
  mkdir -p "$dir/token"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=skiff-rig-token \
    -keyout "$dir/token/key.pem" -out "$dir/token/cert.pem" 2>/dev/null
  token_port=$(free_port)
  cdn_port=$(free_port)
  relay_port=$(free_port)
  token_registry_port=$(free_port)
  basic_registry_port=$(free_port)
  node "$here/services.mjs" "$token_port" "$cdn_port" "$dir/token/key.pem" "$dir/token/cert.pem" \
    "$dir/registry/data" "$relay_port" "127.0.0.1:$registry_port" \
    "127.0.0.1:$token_registry_port" "127.0.0.1:$basic_registry_port" > "$dir/services.log" 2>&1 &
  echo $! > "$dir/services.pid"
  serve_registry token "$token_registry_port" "auth:
  token:
    realm: http://127.0.0.1:$token_port/token
    service: skiff-rig
    issuer: skiff-rig-issuer
    rootcertbundle: $dir/token/cert.pem
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:$cdn_port/"
  htpasswd -Bbn skiff s3cret-token > "$dir/htpasswd"
  serve_registry basic "$basic_registry_port" "auth:
  htpasswd:
    realm: skiff-basic
    path: $dir/htpasswd"
  wait_for 20 "token service" curl -sf "http://127.0.0.1:$token_port/__stats"
  wait_for 20 "token registry" sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$token_registry_port/v2/ | grep -q 401"
  wait_for 20 "basic registry" sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$basic_registry_port/v2/ | grep -q 401"
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
layer_megabyte() {
  mkdir -p "$1/payload"
  head -c 1000000 /dev/urandom > "$1/payload/random-$RANDOM$RANDOM.bin"
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
  # Slow to download through the throttled CDN: five incompressible 1 MB layers.
  umoci config --image "$oci:busybox" --tag big --config.label skiff.fixture=big
  for _ in 1 2 3 4 5; do add_layer "$oci:big" layer_megabyte; done

  local dest="docker://127.0.0.1:$registry_port"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:busybox" "$dest/skiff/busybox:v2s2"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:oci-variant" "$dest/skiff/busybox:oci"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:corrupt-base" "$dest/skiff/corrupt:latest"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:busybox" "$dest/skiff/private:latest"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:big" "$dest/skiff/big:latest"
  # A repository with many tags, for paging through the tag list.
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:busybox" "$dest/skiff/tags:base"
  manifest_of skiff/tags base application/vnd.docker.distribution.manifest.v2+json > "$dir/tags-manifest.json"
  for i in $(seq -w 1 249); do
    put_manifest skiff/tags "v1.$i" application/vnd.docker.distribution.manifest.v2+json "$dir/tags-manifest.json"
  done
}

manifest_of() { # manifest_of REPO REF ACCEPT -> body on stdout
  curl -sf -H "Accept: $3" "http://127.0.0.1:$registry_port/v2/$1/manifests/$2"
}

put_manifest() { # put_manifest REPO REF MEDIA-TYPE FILE
  curl -sf -X PUT -H "Content-Type: $3" --data-binary "@$4" \
    "http://127.0.0.1:$registry_port/v2/$1/manifests/$2" > /dev/null
}

push_blob() { # push_blob REPO FILE -> digest on stdout
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location=$(curl -sf -X POST -D - -o /dev/null "http://127.0.0.1:$registry_port/v2/$1/blobs/uploads/" \
    | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $location == /* ]] && location="http://127.0.0.1:$registry_port$location"
  [[ $location == *\?* ]] && location="$location&digest=$digest" || location="$location?digest=$digest"
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$location" > /dev/null
  echo "$digest"
}

bench_image() { # bench_image TAG MB... -> reference on stdout; one random layer per MB
  local tag=$1 work="$dir/bench" layers='[]' diff_ids='[]' i=0 size
  shift
  registry_port=$(jq -r .registry "$dir/env.json" | cut -d: -f2)
  mkdir -p "$work"
  for size in "$@"; do
    i=$((i + 1))
    mkdir -p "$work/l$i/data"
    head -c $((size * 1000000)) /dev/urandom > "$work/l$i/data/blob-$i.bin"
    tar_of "$work/l$i" "$work/l$i.tar"
    gzip -1 -n -c "$work/l$i.tar" > "$work/l$i.tar.gz"
    push_blob skiff/bench "$work/l$i.tar.gz" > /dev/null
    layers=$(jq -c --argjson d "$(descriptor "$work/l$i.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)" '. + [$d]' <<<"$layers")
    diff_ids=$(jq -c --arg d "sha256:$(sha256sum "$work/l$i.tar" | cut -d' ' -f1)" '. + [$d]' <<<"$diff_ids")
    rm -rf "$work/l$i" "$work/l$i.tar" "$work/l$i.tar.gz"
  done
  jq -n --argjson ids "$diff_ids" '{architecture: "amd64", os: "linux", config: {}, rootfs: {type: "layers", diff_ids: $ids}}' > "$work/config.json"
  push_blob skiff/bench "$work/config.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/config.json" application/vnd.oci.image.config.v1+json)" --argjson l "$layers" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' > "$work/manifest.json"
  put_manifest skiff/bench "$tag" application/vnd.oci.image.manifest.v1+json "$work/manifest.json"
  echo "127.0.0.1:$registry_port/skiff/bench:$tag"
}

descriptor() { # descriptor FILE MEDIA-TYPE [PLATFORM-JSON] [ANNOTATIONS-JSON] -> JSON
  jq -cn --arg mt "$2" --arg d "sha256:$(sha256sum "$1" | cut -d' ' -f1)" --argjson s "$(stat -c %s "$1")" \
    --argjson p "${3:-null}" --argjson a "${4:-null}" \
    '{mediaType: $mt, digest: $d, size: $s} + (if $p then {platform: $p} else {} end) + (if $a then {annotations: $a} else {} end)'
}

# Multi-platform fixtures: linux/amd64 and linux/arm64/v8 images (the arm64 one differs in its
# config's architecture and a label) behind an OCI index with a BuildKit-style attestation entry,
# and behind a Docker manifest list.
build_multiarch() {
  local oci="$dir/oci" work="$dir/multiarch" dest="docker://127.0.0.1:$registry_port"
  local docker_mt=application/vnd.docker.distribution.manifest.v2+json
  local oci_mt=application/vnd.oci.image.manifest.v1+json
  mkdir -p "$work"
  umoci config --image "$oci:busybox" --tag arm64 --architecture arm64 --config.label skiff.fixture=arm64
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/multi:amd64-oci"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:arm64" "$dest/skiff/multi:arm64-oci"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:busybox" "$dest/skiff/multi:amd64-v2s2"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format v2s2 "oci:$oci:arm64" "$dest/skiff/multi:arm64-v2s2"
  for tag in amd64-oci arm64-oci; do manifest_of skiff/multi "$tag" "$oci_mt" > "$work/$tag.json"; done
  for tag in amd64-v2s2 arm64-v2s2; do manifest_of skiff/multi "$tag" "$docker_mt" > "$work/$tag.json"; done

  # An attestation manifest as BuildKit attaches them: platform unknown/unknown.
  echo '{"_type":"https://in-toto.io/Statement/v0.1"}' > "$work/statement.json"
  echo '{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}' > "$work/att-config.json"
  push_blob skiff/multi "$work/statement.json" > /dev/null
  push_blob skiff/multi "$work/att-config.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/att-config.json" application/vnd.oci.image.config.v1+json)" \
    --argjson l "$(descriptor "$work/statement.json" application/vnd.in-toto+json)" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' > "$work/attestation.json"
  put_manifest skiff/multi attestation "$oci_mt" "$work/attestation.json"

  local amd64='{"architecture":"amd64","os":"linux"}' arm64='{"architecture":"arm64","os":"linux","variant":"v8"}'
  local amd64_digest="sha256:$(sha256sum "$work/amd64-oci.json" | cut -d' ' -f1)"
  jq -n --argjson a "$(descriptor "$work/amd64-oci.json" "$oci_mt" "$amd64")" \
    --argjson b "$(descriptor "$work/arm64-oci.json" "$oci_mt" "$arm64")" \
    --argjson t "$(descriptor "$work/attestation.json" "$oci_mt" '{"architecture":"unknown","os":"unknown"}' \
      "{\"vnd.docker.reference.type\":\"attestation-manifest\",\"vnd.docker.reference.digest\":\"$amd64_digest\"}")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b, $t]}' > "$work/index.json"
  put_manifest skiff/multi latest application/vnd.oci.image.index.v1+json "$work/index.json"
  jq -n --argjson a "$(descriptor "$work/amd64-v2s2.json" "$docker_mt" "$amd64")" \
    --argjson b "$(descriptor "$work/arm64-v2s2.json" "$docker_mt" "$arm64")" \
    '{schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", manifests: [$a, $b]}' > "$work/list.json"
  put_manifest skiff/multi list application/vnd.docker.distribution.manifest.list.v2+json "$work/list.json"
  multi_index_digest="sha256:$(sha256sum "$work/index.json" | cut -d' ' -f1)"
  multi_arm64_digest="sha256:$(sha256sum "$work/arm64-oci.json" | cut -d' ' -f1)"
}

# An image with a cosign-style signature (under the tag sha256-<hex>.sig) and an SPDX SBOM as an
# OCI 1.1 artifact with a subject, listed in a referrers index under the tag sha256-<hex> (the
# OCI tag schema): Debian's Distribution 2.8 has no referrers API, as many registries still.
build_signed() {
  local oci="$dir/oci" work="$dir/signed" dest="docker://127.0.0.1:$registry_port"
  local oci_mt=application/vnd.oci.image.manifest.v1+json
  mkdir -p "$work"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/signed:latest"
  manifest_of skiff/signed latest "$oci_mt" > "$work/image.json"
  signed_digest="sha256:$(sha256sum "$work/image.json" | cut -d' ' -f1)"
  local tag="sha256-${signed_digest#sha256:}"

  # Signed as `cosign sign --key` signs: the simple-signing payload, its ECDSA P-256 signature
  # (DER, base64) in the layer's annotation. The rig's key pair, and another key's, for #22.
  openssl ecparam -genkey -name prime256v1 -noout -out "$work/cosign.key" 2>/dev/null
  openssl ec -in "$work/cosign.key" -pubout -out "$work/cosign.pub" 2>/dev/null
  openssl ecparam -genkey -name prime256v1 -noout -out "$work/other.key" 2>/dev/null
  openssl ec -in "$work/other.key" -pubout -out "$work/other.pub" 2>/dev/null
  cosign_signature skiff/signed "$signed_digest" "$work/cosign.key" "$tag.sig" "$work"
  # The same image elsewhere: signed by another key; and with a payload altered after signing
  # (its digest names another image).
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/other-key:latest"
  cosign_signature skiff/other-key "$signed_digest" "$work/other.key" "$tag.sig" "$work"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/tampered:latest"
  cosign_signature skiff/tampered "$signed_digest" "$work/cosign.key" "$tag.sig" "$work" tamper
  # A multi-platform image signed as `cosign sign` signs a tag: on its index, not on a platform's.
  skopeo --insecure-policy copy -q --all --src-tls-verify=false --dest-tls-verify=false \
    "$dest/skiff/multi:latest" "$dest/skiff/signed-index:latest"
  cosign_signature skiff/signed-index "$multi_index_digest" "$work/cosign.key" "sha256-${multi_index_digest#sha256:}.sig" "$work"

  printf '{}' > "$work/empty.json"
  jq -cn '{spdxVersion: "SPDX-2.3", name: "skiff-signed", packages: [{name: "busybox", versionInfo: "static"}]}' > "$work/sbom.json"
  push_blob skiff/signed "$work/empty.json" > /dev/null
  push_blob skiff/signed "$work/sbom.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/empty.json" application/vnd.oci.empty.v1+json)" \
    --argjson l "$(descriptor "$work/sbom.json" application/spdx+json)" \
    --argjson s "$(descriptor "$work/image.json" "$oci_mt")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: "application/spdx+json", config: $c, layers: [$l], subject: $s}' > "$work/sbom-manifest.json"
  local sbom_digest="sha256:$(sha256sum "$work/sbom-manifest.json" | cut -d' ' -f1)"
  put_manifest skiff/signed "$sbom_digest" "$oci_mt" "$work/sbom-manifest.json"
  jq -n --argjson m "$(descriptor "$work/sbom-manifest.json" "$oci_mt")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$m + {artifactType: "application/spdx+json"}]}' > "$work/referrers.json"
  put_manifest skiff/signed "$tag" application/vnd.oci.image.index.v1+json "$work/referrers.json"
}

# Keyless signatures from the rig's own Sigstore instance (tests/rig/sigstore_rig.py: a CA, a CT
# log and a Rekor log, offline, with their trusted_root.json): skiff/keyless is signed as cosign v3
# signs (a Sigstore bundle referrer, found through the tag schema) and as cosign v2 did (simple
# signing with the certificate and Rekor's promise in annotations, at the .sig tag).
build_keyless() {
  local oci="$dir/oci" work="$dir/sigstore" dest="docker://127.0.0.1:$registry_port"
  local oci_mt=application/vnd.oci.image.manifest.v1+json bundle_mt=application/vnd.dev.sigstore.bundle.v0.3+json
  /usr/bin/python3 "$here/sigstore_rig.py" root "$work"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/keyless:latest"
  manifest_of skiff/keyless latest "$oci_mt" > "$work/image.json"
  keyless_digest="sha256:$(sha256sum "$work/image.json" | cut -d' ' -f1)"
  local tag="sha256-${keyless_digest#sha256:}"
  /usr/bin/python3 "$here/sigstore_rig.py" sign "$work" "$keyless_digest" "127.0.0.1:$registry_port/skiff/keyless" "$work/signed" \
    "$here/fixtures/sboms/latest.cdx.json"

  printf '{}' > "$work/empty.json"
  push_blob skiff/keyless "$work/empty.json" > /dev/null
  # The signature, and an SBOM attestation (as `cosign attest --type cyclonedx` attaches one),
  # each a bundle referrer annotated with its predicate; the index repeats the annotations, as
  # a registry's referrers API does.
  local entries=()
  for kind in bundle:https://sigstore.dev/cosign/sign/v1 attestation:https://cyclonedx.org/bom; do
    local name=${kind%%:*} predicate=${kind#*:}
    push_blob skiff/keyless "$work/signed/$name.json" > /dev/null
    jq -n --argjson c "$(descriptor "$work/empty.json" application/vnd.oci.empty.v1+json)" \
      --argjson l "$(descriptor "$work/signed/$name.json" "$bundle_mt")" \
      --argjson s "$(descriptor "$work/image.json" "$oci_mt")" --arg at "$bundle_mt" --arg p "$predicate" \
      '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: $at, config: $c, layers: [$l], subject: $s,
        annotations: {"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": $p}}' \
      > "$work/$name-manifest.json"
    put_manifest skiff/keyless "sha256:$(sha256sum "$work/$name-manifest.json" | cut -d' ' -f1)" "$oci_mt" "$work/$name-manifest.json"
    entries+=("$(jq -c --argjson d "$(descriptor "$work/$name-manifest.json" "$oci_mt")" --arg at "$bundle_mt" \
      '$d + {artifactType: $at, annotations: .annotations}' "$work/$name-manifest.json")")
  done
  printf '%s\n' "${entries[@]}" | jq -s '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' > "$work/referrers.json"
  put_manifest skiff/keyless "$tag" application/vnd.oci.image.index.v1+json "$work/referrers.json"

  echo '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}' > "$work/sig-config.json"
  push_blob skiff/keyless "$work/signed/payload.json" > /dev/null
  push_blob skiff/keyless "$work/sig-config.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/sig-config.json" application/vnd.oci.image.config.v1+json)" \
    --argjson l "$(descriptor "$work/signed/payload.json" application/vnd.dev.cosign.simplesigning.v1+json null "$(cat "$work/signed/annotations.json")")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' > "$work/signature.json"
  put_manifest skiff/keyless "$tag.sig" application/vnd.oci.image.manifest.v1+json "$work/signature.json"
}

# Two images with SBOMs attached as build_signed attaches its own (OCI 1.1 artifacts with a
# subject, listed by the tag-schema index at sha256-<hex>): skiff/sboms:latest with an SPDX 2.3
# and a CycloneDX 1.5 document whose package lists differ, and skiff/sboms:next, another image,
# with an SPDX document of its own. The documents (tests/rig/fixtures/sboms) stay in DIR/sboms,
# with comparisons.json: the added, removed and changed packages expected between them.
build_sboms() {
  local oci="$dir/oci" work="$dir/sbom-manifests" dest="docker://127.0.0.1:$registry_port"
  rm -rf "$dir/sboms" "$work" && cp -r "$here/fixtures/sboms" "$dir/sboms" && mkdir -p "$work"
  umoci config --image "$oci:busybox" --tag sboms-next --config.label skiff.fixture=sboms-next
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:busybox" "$dest/skiff/sboms:latest"
  skopeo --insecure-policy copy -q --dest-tls-verify=false --format oci "oci:$oci:sboms-next" "$dest/skiff/sboms:next"
  attach_sboms skiff/sboms latest "$work" "latest.spdx.json:application/spdx+json latest.cdx.json:application/vnd.cyclonedx+json"
  sboms_digest=$attached_digest
  attach_sboms skiff/sboms next "$work" "next.spdx.json:application/spdx+json"
  sboms_next_digest=$attached_digest
}

# attach_sboms REPO TAG WORK "FILE:MEDIA-TYPE ...": each FILE of DIR/sboms as an artifact whose
# subject is REPO:TAG, and the referrers index of them all; the image's digest in attached_digest.
attach_sboms() {
  local repo=$1 tag=$2 work=$3 spec file mt digest artifact referrers='[]'
  local oci_mt=application/vnd.oci.image.manifest.v1+json
  manifest_of "$repo" "$tag" "$oci_mt" > "$work/image-$tag.json"
  digest="sha256:$(sha256sum "$work/image-$tag.json" | cut -d' ' -f1)"
  printf '{}' > "$work/empty.json"
  push_blob "$repo" "$work/empty.json" > /dev/null
  for spec in $4; do
    file=${spec%%:*} mt=${spec#*:} artifact="$work/$tag-$file.manifest.json"
    push_blob "$repo" "$dir/sboms/$file" > /dev/null
    jq -n --argjson c "$(descriptor "$work/empty.json" application/vnd.oci.empty.v1+json)" \
      --argjson l "$(descriptor "$dir/sboms/$file" "$mt" null "{\"org.opencontainers.image.title\":\"$file\"}")" \
      --argjson s "$(descriptor "$work/image-$tag.json" "$oci_mt")" --arg at "$mt" \
      '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: $at, config: $c, layers: [$l], subject: $s,
        annotations: {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}' > "$artifact"
    put_manifest "$repo" "sha256:$(sha256sum "$artifact" | cut -d' ' -f1)" "$oci_mt" "$artifact"
    referrers=$(jq -c --argjson m "$(descriptor "$artifact" "$oci_mt")" --arg at "$mt" \
      '. + [$m + {artifactType: $at, annotations: {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}]' <<<"$referrers")
  done
  jq -n --argjson m "$referrers" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}' \
    > "$work/referrers-$tag.json"
  put_manifest "$repo" "sha256-${digest#sha256:}" application/vnd.oci.image.index.v1+json "$work/referrers-$tag.json"
  attached_digest=$digest
}

# Images with package databases: skiff/debian-pkgs (layer 1: this machine's own dpkg status;
# layer 2 replaces it less a few packages and with one left as config-files, and adds a
# distroless status.d file), skiff/alpine-pkgs (an Alpine 3.19 apk database) and skiff/rpm-pkgs
# (rpm's sqlite database, which Skiff finds but does not read). tests/rig/package_images.py
# writes the trees, and into DIR/packages the databases as the merged file systems hold them;
# *-expected.tsv are the packages an app should list (name, version, architecture), the Debian
# one computed by dpkg-query.
build_package_images() {
  local work="$dir/package-images" gz=application/vnd.oci.image.layer.v1.tar+gzip part
  rm -rf "$dir/packages"
  python3 "$here/package_images.py" "$work" "$dir/packages" "$here/fixtures"
  for part in debian-l1 debian-l2 alpine-l1 rpm-l1; do
    tar_of "$work/$part" "$work/$part.tar"
    gzip -n -c "$work/$part.tar" > "$work/$part.tar.gz"
  done
  push_layered skiff/debian-pkgs latest "$work" "debian-l1.tar.gz:$gz debian-l2.tar.gz:$gz"
  push_layered skiff/alpine-pkgs latest "$work" "alpine-l1.tar.gz:$gz"
  push_layered skiff/rpm-pkgs latest "$work" "rpm-l1.tar.gz:$gz"
  {
    dpkg-query --admindir="$dir/packages/debian" -W -f '${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n' \
      | awk -F'\t' '$1 == "installed" {print $2 "\t" $3 "\t" $4}'
    awk -F': ' '$1 == "Package" {p = $2} $1 == "Version" {v = $2} $1 == "Architecture" {a = $2} END {print p "\t" v "\t" a}' \
      "$dir/packages/debian/status.d/tzdata"
  } | LC_ALL=C sort > "$dir/packages/debian-expected.tsv"
  awk -F: '$1 == "P" {p = substr($0, 3)} $1 == "V" {v = substr($0, 3)} $1 == "A" {a = substr($0, 3)}
    /^$/ && p != "" {print p "\t" v "\t" a; p = ""} END {if (p != "") print p "\t" v "\t" a}' \
    "$dir/packages/alpine/installed" | LC_ALL=C sort > "$dir/packages/alpine-expected.tsv"
}

# Artifacts that are no container image, stored as their tools store them: a Helm chart as
# `helm push` does (its config and one .tgz layer), files as `oras push` does (an empty config,
# each layer titled), a wasm module (the CNCF wasm OCI artifact layout), and an artifact of a kind
# nobody knows. The originals stay in DIR/artifacts, to compare what Skiff saves with.
artifact_manifest() { # artifact_manifest REPO TAG CONFIG-DESCRIPTOR LAYERS-JSON [ARTIFACT-TYPE]
  jq -n --argjson c "$3" --argjson l "$4" --arg t "${5:-}" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json"} + (if $t != "" then {artifactType: $t} else {} end) + {config: $c, layers: $l}' \
    > "$dir/artifacts/manifest.json"
  put_manifest "$1" "$2" application/vnd.oci.image.manifest.v1+json "$dir/artifacts/manifest.json"
}

build_artifacts() {
  local work="$dir/artifacts"
  mkdir -p "$work/chart/hello/templates" "$work/files/data"
  printf 'apiVersion: v2\nname: hello\nversion: 0.1.0\ndescription: A chart from the Skiff rig\n' > "$work/chart/hello/Chart.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  greeting: hi\n' > "$work/chart/hello/templates/configmap.yaml"
  tar -C "$work/chart" --owner=0 --group=0 --numeric-owner -cf - hello | gzip -n > "$work/hello-0.1.0.tgz"
  jq -cn '{name: "hello", version: "0.1.0", apiVersion: "v2", description: "A chart from the Skiff rig"}' > "$work/chart-config.json"
  push_blob skiff/charts/hello "$work/hello-0.1.0.tgz" > /dev/null
  push_blob skiff/charts/hello "$work/chart-config.json" > /dev/null
  artifact_manifest skiff/charts/hello 0.1.0 \
    "$(descriptor "$work/chart-config.json" application/vnd.cncf.helm.config.v1+json)" \
    "[$(descriptor "$work/hello-0.1.0.tgz" application/vnd.cncf.helm.chart.content.v1.tar+gzip)]"

  printf '{}' > "$work/empty.json"
  printf '# Notes\nCarried across the air gap by Skiff.\n' > "$work/files/readme.md"
  head -c 70000 /dev/urandom | base64 > "$work/files/data/values.txt"
  for repo in skiff/files skiff/wasm skiff/unknown; do push_blob "$repo" "$work/empty.json" > /dev/null; done
  push_blob skiff/files "$work/files/readme.md" > /dev/null
  push_blob skiff/files "$work/files/data/values.txt" > /dev/null
  local empty
  empty=$(descriptor "$work/empty.json" application/vnd.oci.empty.v1+json)
  artifact_manifest skiff/files one "$empty" \
    "[$(descriptor "$work/files/readme.md" text/markdown null '{"org.opencontainers.image.title":"readme.md"}')]" \
    application/vnd.skiff.notes
  artifact_manifest skiff/files two "$empty" \
    "[$(descriptor "$work/files/readme.md" text/markdown null '{"org.opencontainers.image.title":"readme.md"}'), $(descriptor "$work/files/data/values.txt" text/plain null '{"org.opencontainers.image.title":"data/values.txt"}')]" \
    application/vnd.skiff.notes

  # The smallest valid module, plus a custom section so it is not all header.
  printf '\0asm\1\0\0\0\0\x0a\x05skiff\x68\x69\x21\x0a' > "$work/hello.wasm"
  printf '{"architecture":"wasm","os":"wasip1","layerDigests":[]}' > "$work/wasm-config.json"
  push_blob skiff/wasm "$work/hello.wasm" > /dev/null
  push_blob skiff/wasm "$work/wasm-config.json" > /dev/null
  artifact_manifest skiff/wasm latest \
    "$(descriptor "$work/wasm-config.json" application/vnd.wasm.config.v0+json)" \
    "[$(descriptor "$work/hello.wasm" application/wasm)]"

  # An index of modules, one per WASI version, as multi-platform images are.
  cp "$dir/artifacts/manifest.json" "$work/wasm-p1.json"
  printf '\0asm\1\0\0\0\0\x08\x05wasi2\x70\x32' > "$work/hello-p2.wasm"
  printf '{"architecture":"wasm","os":"wasip2","layerDigests":[]}' > "$work/wasm-p2-config.json"
  push_blob skiff/wasm "$work/hello-p2.wasm" > /dev/null
  push_blob skiff/wasm "$work/wasm-p2-config.json" > /dev/null
  artifact_manifest skiff/wasm p2 \
    "$(descriptor "$work/wasm-p2-config.json" application/vnd.wasm.config.v0+json)" \
    "[$(descriptor "$work/hello-p2.wasm" application/wasm)]"
  cp "$dir/artifacts/manifest.json" "$work/wasm-p2.json"
  jq -n --argjson a "$(descriptor "$work/wasm-p1.json" application/vnd.oci.image.manifest.v1+json '{"architecture":"wasm","os":"wasip1"}')" \
    --argjson b "$(descriptor "$work/wasm-p2.json" application/vnd.oci.image.manifest.v1+json '{"architecture":"wasm","os":"wasip2"}')" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b]}' > "$work/wasm-index.json"
  put_manifest skiff/wasm multi application/vnd.oci.image.index.v1+json "$work/wasm-index.json"

  head -c 3000 /dev/urandom > "$work/unknown.bin"
  push_blob skiff/unknown "$work/unknown.bin" > /dev/null
  artifact_manifest skiff/unknown latest "$empty" \
    "[$(descriptor "$work/unknown.bin" application/octet-stream)]" application/vnd.skiff.mystery.v1
}

# A compose file and Kubernetes manifests naming rig images (sharing layers: busybox's), each
# with one reference no tool can pull as written.
write_bundles() {
  local work="$dir/bundles" r="127.0.0.1:$registry_port"
  mkdir -p "$work"
  cat > "$work/compose.yaml" <<YAML
name: skiff-app
services:
  web:
    image: $r/skiff/busybox:v2s2
    ports: ["8080:80"]
  api:
    image: $r/skiff/busybox:oci
    depends_on: [web]
  worker:
    image: $r/skiff/multi:latest
  builder:
    build: ./builder
  cache:
    image: \${CACHE_IMAGE}
YAML
  cat > "$work/k8s.yaml" <<YAML
# Source: skiff/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      initContainers:
        - name: setup
          image: $r/skiff/busybox:oci
      containers:
        - name: web
          image: "$r/skiff/busybox:v2s2"
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: $r/skiff/multi:latest
            - name: broken
              image: Not A Reference
YAML
}

# cosign_signature REPO DIGEST KEY TAG WORK [tamper]: a cosign signature of REPO's DIGEST under
# TAG; `tamper` rewrites the payload's digest after signing.
cosign_signature() {
  local repo=$1 digest=$2 key=$3 tag=$4 work=$5 payload signature
  payload="$work/payload-${repo//\//-}.json"
  jq -cn --arg d "$digest" --arg r "127.0.0.1:$registry_port/$repo" \
    '{critical: {identity: {"docker-reference": $r}, image: {"docker-manifest-digest": $d}, type: "cosign container image signature"}, optional: null}' \
    > "$payload"
  signature=$(openssl dgst -sha256 -sign "$key" "$payload" | base64 -w0)
  if [[ ${6:-} == tamper ]]; then
    jq -c '.critical.image."docker-manifest-digest" = "sha256:0000000000000000000000000000000000000000000000000000000000000000"' "$payload" > "$payload.t"
    mv "$payload.t" "$payload"
  fi
  echo '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}' > "$work/sig-config.json"
  push_blob "$repo" "$payload" > /dev/null
  push_blob "$repo" "$work/sig-config.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/sig-config.json" application/vnd.oci.image.config.v1+json)" \
    --argjson l "$(descriptor "$payload" application/vnd.dev.cosign.simplesigning.v1+json null \
      "{\"dev.cosignproject.cosign/signature\":\"$signature\"}")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' > "$work/signature.json"
  put_manifest "$repo" "$tag" application/vnd.oci.image.manifest.v1+json "$work/signature.json"
}

# tar_of DIR OUT: a layer tar of DIR's contents, owned by root.
tar_of() {
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$1" -cf "$2" .
}

# Odd images, written blob by blob: plain-tar, zstd and empty layers, one layer listed twice,
# and a foreign (non-distributable) layer the registry does not hold, served from its URL.
build_odd() {
  local work="$dir/odd" oci_mt=application/vnd.oci.image.manifest.v1+json
  local gz=application/vnd.oci.image.layer.v1.tar+gzip tar_mt=application/vnd.oci.image.layer.v1.tar
  local zst=application/vnd.oci.image.layer.v1.tar+zstd
  local foreign_mt=application/vnd.oci.image.layer.nondistributable.v1.tar+gzip
  mkdir -p "$work"/{busybox,message,script,foreign,empty}
  layer_busybox "$work/busybox"
  layer_message "$work/message"
  mkdir -p "$work/script/usr/local/bin" "$work/foreign/etc/skiff"
  echo "and hello from a foreign layer" > "$work/foreign/etc/skiff/foreign"
  printf '#!/bin/sh\ncat /etc/skiff/message /etc/skiff/foreign 2>/dev/null\necho "odd layers: ok"\n' \
    > "$work/script/usr/local/bin/skiff-hello"
  chmod +x "$work/script/usr/local/bin/skiff-hello"
  for part in busybox message script foreign empty; do tar_of "$work/$part" "$work/$part.tar"; done
  for part in busybox script foreign empty; do gzip -n -c "$work/$part.tar" > "$work/$part.tar.gz"; done
  for part in message script; do zstd -q -f -o "$work/$part.tar.zst" "$work/$part.tar"; done

  # The foreign layer lives outside the registry, on the CDN host.
  local foreign_hex
  foreign_hex=$(sha256sum "$work/foreign.tar.gz" | cut -d' ' -f1)
  mkdir -p "$dir/registry/data/foreign/$foreign_hex"
  cp "$work/foreign.tar.gz" "$dir/registry/data/foreign/$foreign_hex/data"
  local foreign_url="http://127.0.0.1:$cdn_port/foreign/$foreign_hex/data"

  odd_image() { # odd_image TAG "FILE:MEDIATYPE ..." -> pushes skiff/odd:TAG
    local tag=$1 layers='[]' diff_ids='[]' spec file mt desc
    for spec in $2; do
      file=${spec%%:*} mt=${spec#*:}
      desc=$(descriptor "$work/$file" "$mt")
      if [[ $mt == "$foreign_mt" ]]; then
        desc=$(jq -c --arg u "$foreign_url" '. + {urls: [$u]}' <<<"$desc")
      else
        push_blob skiff/odd "$work/$file" > /dev/null
      fi
      layers=$(jq -c --argjson d "$desc" '. + [$d]' <<<"$layers")
      diff_ids=$(jq -c --arg d "sha256:$(sha256sum "$work/${file%%.tar*}.tar" | cut -d' ' -f1)" '. + [$d]' <<<"$diff_ids")
    done
    jq -n --argjson ids "$diff_ids" --arg tag "$tag" '{architecture: "amd64", os: "linux",
      config: {Cmd: ["/usr/local/bin/skiff-hello"], Labels: {"skiff.fixture": ("odd-" + $tag)}},
      rootfs: {type: "layers", diff_ids: $ids}}' > "$work/config-$tag.json"
    push_blob skiff/odd "$work/config-$tag.json" > /dev/null
    jq -n --argjson c "$(descriptor "$work/config-$tag.json" application/vnd.oci.image.config.v1+json)" \
      --argjson l "$layers" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' \
      > "$work/manifest-$tag.json"
    put_manifest skiff/odd "$tag" "$oci_mt" "$work/manifest-$tag.json"
  }
  # Loads and runs in docker 20.10: gzip, plain tar (twice), empty, foreign.
  odd_image mixed "busybox.tar.gz:$gz message.tar:$tar_mt message.tar:$tar_mt empty.tar.gz:$gz script.tar.gz:$gz foreign.tar.gz:$foreign_mt"
  # zstd layers: docker 20.10 cannot load these as they are; podman can.
  odd_image zstd "busybox.tar.gz:$gz message.tar.zst:$zst script.tar.zst:$zst"
}

# The overlay fixture, for the file browser and the root filesystem export: file and opaque
# whiteouts, a file replaced by a directory and a directory by a file (and back), hard links
# (one whose first name a later layer deletes), symlinks, odd modes and a 255+-character path.
build_overlay() {
  local work="$dir/overlay" oci_mt=application/vnd.oci.image.manifest.v1+json
  local gz=application/vnd.oci.image.layer.v1.tar+gzip tar_mt=application/vnd.oci.image.layer.v1.tar
  local long_dir="deep/$(printf 'd%.0s' {1..120})/$(printf 'e%.0s' {1..100})"
  rm -rf "$work" && mkdir -p "$work"/{l1,l2,l3}
  # Layer 1: the base.
  layer_busybox "$work/l1"
  mkdir -p "$work/l1"/{data,opq/sub,swap/was-dir,hl,hl2,"$long_dir"}
  echo "keep me" > "$work/l1/data/keep.txt"
  echo "delete me" > "$work/l1/data/gone.txt"
  echo "secret" > "$work/l1/data/secret" && chmod 0600 "$work/l1/data/secret"
  ln -s keep.txt "$work/l1/data/link-to-keep"
  echo "lower a" > "$work/l1/opq/a.txt"
  echo "lower b" > "$work/l1/opq/sub/b.txt"
  echo "was a file" > "$work/l1/swap/was-file"
  echo "in a dir" > "$work/l1/swap/was-dir/x.txt"
  echo "linked content" > "$work/l1/hl/orig" && ln "$work/l1/hl/orig" "$work/l1/hl/link"
  echo "two names" > "$work/l1/hl2/one" && ln "$work/l1/hl2/one" "$work/l1/hl2/two"
  echo "far down" > "$work/l1/$long_dir/$(printf 'f%.0s' {1..80}).txt"
  chmod 0755 "$work/l1/data"
  chmod 1777 "$work/l1/swap"
  # Layer 2: whiteouts and replacements.
  mkdir -p "$work/l2"/{data,opq,swap/was-file,hl}
  touch "$work/l2/data/.wh.gone.txt" "$work/l2/opq/.wh..wh..opq" "$work/l2/hl/.wh.orig"
  echo "upper new" > "$work/l2/opq/new.txt"
  echo "now inside a dir" > "$work/l2/swap/was-file/inner.txt"
  echo "a file where a dir was" > "$work/l2/swap/was-dir"
  chmod 1777 "$work/l2/swap"
  # Layer 3: a changed file, and the directory back where the file was.
  mkdir -p "$work/l3/data" "$work/l3/swap/was-dir"
  echo "kept, and changed" > "$work/l3/data/keep.txt"
  echo "a dir again" > "$work/l3/swap/was-dir/y.txt"
  chmod 1777 "$work/l3/swap"
  for part in l1 l2 l3; do tar_of "$work/$part" "$work/$part.tar"; done
  gzip -n -c "$work/l1.tar" > "$work/l1.tar.gz"
  gzip -n -c "$work/l3.tar" > "$work/l3.tar.gz"
  push_layered skiff/overlay latest "$work" "l1.tar.gz:$gz l2.tar:$tar_mt l3.tar.gz:$gz"
  # `next` shares layers 1 and 2 and differs above them: for comparing two tags.
  mkdir -p "$work/l4"/{data,hl2,app}
  echo "next version" > "$work/l4/data/keep.txt"
  touch "$work/l4/data/.wh.secret"
  echo "TWO NAMES" > "$work/l4/hl2/one"
  head -c 5000 /dev/zero > "$work/l4/app/new.bin"
  tar_of "$work/l4" "$work/l4.tar" && gzip -n -c "$work/l4.tar" > "$work/l4.tar.gz"
  push_layered skiff/overlay next "$work" "l1.tar.gz:$gz l2.tar:$tar_mt l4.tar.gz:$gz" '{"Env": ["MODE=next"]}'
}

# push_layered REPO TAG WORK "FILE:MEDIATYPE ..." [CONFIG-JSON]: pushes the layers (FILE.tar.gz or FILE.tar in
# WORK, their uncompressed FILE.tar beside them) with a config and an OCI manifest.
push_layered() {
  local repo=$1 tag=$2 work=$3 layers='[]' diff_ids='[]' history='[]' spec file mt extra='{}'
  [[ -n ${5:-} ]] && extra=$5
  for spec in $4; do
    file=${spec%%:*} mt=${spec#*:}
    push_blob "$repo" "$work/$file" > /dev/null
    layers=$(jq -c --argjson d "$(descriptor "$work/$file" "$mt")" '. + [$d]' <<<"$layers")
    diff_ids=$(jq -c --arg d "sha256:$(sha256sum "$work/${file%%.tar*}.tar" | cut -d' ' -f1)" '. + [$d]' <<<"$diff_ids")
    history=$(jq -c --arg f "$file" '. + [{created: "2026-01-01T00:00:00Z", created_by: ("ADD " + $f + " /")}]' <<<"$history")
  done
  # Build history as docker records it, with one step that made no layer.
  jq -n --argjson ids "$diff_ids" --arg fixture "$repo:$tag" --argjson extra "$extra" --argjson history "$history" '{
    architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z",
    config: ({Cmd: ["/bin/sh"], Labels: {"skiff.fixture": $fixture}} + $extra),
    rootfs: {type: "layers", diff_ids: $ids},
    history: ($history + [{created: "2026-01-01T00:00:00Z", created_by: "CMD [\"/bin/sh\"]", empty_layer: true}])}' \
    > "$work/config-$tag.json"
  push_blob "$repo" "$work/config-$tag.json" > /dev/null
  jq -n --argjson c "$(descriptor "$work/config-$tag.json" application/vnd.oci.image.config.v1+json)" \
    --argjson l "$layers" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: $l}' \
    > "$work/manifest-$tag.json"
  put_manifest "$repo" "$tag" application/vnd.oci.image.manifest.v1+json "$work/manifest-$tag.json"
}

# 100 000 small files in one layer, for the file browser's speed.
build_many() {
  local work="$dir/many" d
  rm -rf "$work" && mkdir -p "$work/layer"
  for d in $(seq -w 0 99); do
    mkdir "$work/layer/dir-$d"
    (cd "$work/layer/dir-$d" && touch file-{000..999}.txt)
  done
  tar_of "$work/layer" "$work/layer.tar"
  gzip -n -1 -c "$work/layer.tar" > "$work/layer.tar.gz"
  push_layered skiff/many latest "$work" "layer.tar.gz:application/vnd.oci.image.layer.v1.tar+gzip"
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

# Images built to hurt their readers (tests/rig/hostile_images.py): a decompression bomb and a
# path 32,000 directories deep.
build_hostile() {
  local work="$dir/hostile" name
  python3 "$here/hostile_images.py" "$work"
  for name in bomb deep; do
    push_blob "skiff/$name" "$work/$name.config.json" > /dev/null
    push_blob "skiff/$name" "$work/$name.layer.gz" > /dev/null
    put_manifest "skiff/$name" latest application/vnd.docker.distribution.manifest.v2+json "$work/$name.manifest.json"
  done
}

# A second, independent registry: the `container-registry` crate (Basic auth, any user name
# with the rig's password; uploads only as POST, PATCH and an empty PUT; single image manifests
# with their mediaType; names of exactly two parts). The v2s2 fixture is copied into it.
start_other_registry() {
  other_port=$(free_port)
  mkdir -p "$dir/other"
  container-registry --bind "127.0.0.1:$other_port" --storage "$dir/other/data" \
    --password "s3cret-token" > "$dir/registry-other.log" 2>&1 &
  echo $! > "$dir/registry-other.pid"
  wait_for 20 "container-registry" sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$other_port/v2/ | grep -q 401"
  skopeo copy -q --format v2s2 --src-tls-verify=false --dest-tls-verify=false --dest-creds skiff:s3cret-token \
    "docker://127.0.0.1:$registry_port/skiff/busybox:v2s2" "docker://127.0.0.1:$other_port/skiff/busybox:v2s2"
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
    # A start that fails half-way leaves nothing running.
    trap 'echo "rig: start failed; stopping what started (logs in $dir)" >&2; stop' ERR
    start_registry
    build_fixtures
    build_multiarch
    build_signed
    build_keyless
    build_sboms
    build_package_images
    build_artifacts
    write_bundles
    corrupt_fixture
    start_auth_registries
    start_mirror
    build_odd
    build_overlay
    build_many
    build_hostile
    start_other_registry
    start_dockerd
    cat > "$dir/env.json" <<JSON
{
  "registry": "127.0.0.1:$registry_port",
  "tokenRegistry": "127.0.0.1:$token_registry_port",
  "basicRegistry": "127.0.0.1:$basic_registry_port",
  "tokenService": "http://127.0.0.1:$token_port",
  "cdn": "http://127.0.0.1:$cdn_port",
  "relay": "127.0.0.1:$relay_port",
  "mirror": "127.0.0.1:$mirror_port",
  "otherRegistry": "127.0.0.1:$other_port",
  "user": "skiff",
  "password": "s3cret-token",
  "dockerHost": "unix://$dir/docker/docker.sock",
  "podmanRoot": "$dir/podman",
  "corruptLayer": "$corrupt_layer",
  "multiIndexDigest": "$multi_index_digest",
  "multiArm64Digest": "$multi_arm64_digest",
  "signedDigest": "$signed_digest",
  "fixtures": {
    "v2s2": "127.0.0.1:$registry_port/skiff/busybox:v2s2",
    "oci": "127.0.0.1:$registry_port/skiff/busybox:oci",
    "corrupt": "127.0.0.1:$registry_port/skiff/corrupt:latest",
    "multi": "127.0.0.1:$registry_port/skiff/multi:latest",
    "multiList": "127.0.0.1:$registry_port/skiff/multi:list",
    "oddMixed": "127.0.0.1:$registry_port/skiff/odd:mixed",
    "oddZstd": "127.0.0.1:$registry_port/skiff/odd:zstd",
    "tags": "127.0.0.1:$registry_port/skiff/tags:base",
    "overlay": "127.0.0.1:$registry_port/skiff/overlay:latest",
    "many": "127.0.0.1:$registry_port/skiff/many:latest",
    "overlayNext": "127.0.0.1:$registry_port/skiff/overlay:next",
    "signed": "127.0.0.1:$registry_port/skiff/signed:latest",
    "signedOtherKey": "127.0.0.1:$registry_port/skiff/other-key:latest",
    "signedTampered": "127.0.0.1:$registry_port/skiff/tampered:latest",
    "keyless": "127.0.0.1:$registry_port/skiff/keyless:latest",
    "signedIndex": "127.0.0.1:$registry_port/skiff/signed-index:latest",
    "sboms": "127.0.0.1:$registry_port/skiff/sboms:latest",
    "sbomsNext": "127.0.0.1:$registry_port/skiff/sboms:next",
    "debianPkgs": "127.0.0.1:$registry_port/skiff/debian-pkgs:latest",
    "alpinePkgs": "127.0.0.1:$registry_port/skiff/alpine-pkgs:latest",
    "rpmPkgs": "127.0.0.1:$registry_port/skiff/rpm-pkgs:latest",
    "bomb": "127.0.0.1:$registry_port/skiff/bomb:latest",
    "deep": "127.0.0.1:$registry_port/skiff/deep:latest",
    "chart": "127.0.0.1:$registry_port/skiff/charts/hello:0.1.0",
    "filesOne": "127.0.0.1:$registry_port/skiff/files:one",
    "filesTwo": "127.0.0.1:$registry_port/skiff/files:two",
    "wasm": "127.0.0.1:$registry_port/skiff/wasm:latest",
    "wasmIndex": "127.0.0.1:$registry_port/skiff/wasm:multi",
    "unknownArtifact": "127.0.0.1:$registry_port/skiff/unknown:latest"
  },
  "artifacts": "$dir/artifacts",
  "bundles": "$dir/bundles",
  "cosignPublicKey": "$dir/signed/cosign.pub",
  "otherPublicKey": "$dir/signed/other.pub",
  "keylessDigest": "$keyless_digest",
  "sbomsDigest": "$sboms_digest",
  "sbomsNextDigest": "$sboms_next_digest",
  "sbomFiles": "$dir/sboms",
  "packageFiles": "$dir/packages",
  "sigstoreTrustedRoot": "$dir/sigstore/trusted_root.json",
  "keylessIdentity": "https://github.com/skiff-rig/release/.github/workflows/sign.yml@refs/heads/main",
  "keylessIssuer": "https://token.actions.githubusercontent.com"
}
JSON
    printf 'export SKIFF_RIG_REGISTRY=127.0.0.1:%s\nexport DOCKER_HOST=unix://%s/docker/docker.sock\n' \
      "$registry_port" "$dir" > "$dir/env.sh"
    echo "rig: registry on 127.0.0.1:$registry_port, dockerd on $dir/docker/docker.sock"
    ;;
  stop)
    stop
    ;;
  bench-fixture)
    # rig.sh bench-fixture DIR MEGABYTES [TAG]: pushes skiff/bench:TAG (default latest), four
    # layers of incompressible data adding up to MEGABYTES, to the running rig's open registry.
    megabytes=${3:?usage: rig.sh bench-fixture DIR MEGABYTES [TAG]}
    quarter=$((megabytes / 4))
    bench_image "${4:-latest}" "$quarter" "$quarter" "$quarter" "$quarter"
    ;;
  bench-layers)
    # rig.sh bench-layers DIR TAG MB...: pushes skiff/bench:TAG with one layer of incompressible
    # data per MB given, in that order (e.g. a base image's layer sizes).
    tag=${3:?usage: rig.sh bench-layers DIR TAG MB...}
    shift 3
    bench_image "$tag" "$@"
    ;;
  *)
    echo "usage: rig.sh start|stop DIR" >&2
    exit 2
    ;;
esac
