#!/usr/bin/env bash
# Base images for the builder's framework tests (test/build-frameworks*.test.ts), where no image
# registry answers. Each is built FROM the Debian base made from Debian's archive
# (scripts/base-image.sh) and stands in for an official image users get by default:
#   node    for node:<major>-bookworm-slim: this machine's node, npm and corepack, and yarn
#           classic (1.22, from the npm registry), at the paths the official image has them
#   python  for python:3.11-slim: Debian's python3 and pip, with Flask, Django, FastAPI, gunicorn
#           and uvicorn installed (no Python package index is reachable from builds here)
#   golang  for golang:1.22: Debian's golang-go (1.19)
#   bun     for oven/bun:1: Bun's linux-x64 release from the npm registry (@oven/bun-linux-x64)
# Each is tagged with a hash of this recipe, of the base image's id (and for node of the node
# and yarn versions), and built only when no image has that tag: run it as often as you like.
#
# Usage: scripts/app-test-images.sh [NAME...]   (default: node python golang bun)
# Prints one line per image on stdout, tab-separated: name, tag. Progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[app-test-images] %s\n' "$*" >&2; }

YARN_CLASSIC=1.22.22
BUN=1.4.5
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(node python golang bun)

base=$(bash "$here/base-image.sh")
base_id=$(docker image inspect -f '{{.Id}}' "$base")
recipe=$(sha256sum "$0" | cut -c1-16)

# Two test files asking at once: the second waits for the first one's images.
exec 8>/tmp/obiente-app-test-images.lock
flock 8

work=$(mktemp -d /tmp/obiente-app-test-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

tag_of() {
  local name=$1 extra=$2
  printf 'obiente-test/app-%s:%s\n' "$name" \
    "$(printf '%s\n' "$recipe" "$base_id" "$extra" | sha256sum | cut -c1-16)"
}

build() {
  local name=$1 tag=$2 context=$3 started
  started=$(date +%s)
  if ! docker build -q --build-arg "BASE=$base" -t "$tag" "$context" >"$work/$name.log" 2>&1; then
    log "building $name failed:"
    tail -n 40 "$work/$name.log" >&2
    exit 1
  fi
  log "built $tag in $(($(date +%s) - started)) s"
}

node_image() {
  local tag=$1 context="$work/node" root
  root="$context/rootfs"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/opt"
  cp "$(readlink -f "$(command -v node)")" "$root/usr/local/bin/node"
  local modules
  modules=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/..
  cp -r "$modules/npm" "$root/usr/local/lib/node_modules/npm"
  cp -r "$modules/corepack" "$root/usr/local/lib/node_modules/corepack"
  # Yarn classic as the official image ships it: /opt/yarn-v<version>, linked from /usr/local/bin.
  (cd "$work" && npm pack --silent "yarn@$YARN_CLASSIC" >/dev/null)
  mkdir -p "$root/opt/yarn-v$YARN_CLASSIC"
  tar -xzf "$work/yarn-$YARN_CLASSIC.tgz" --strip-components=1 -C "$root/opt/yarn-v$YARN_CLASSIC"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
  ln -s "/opt/yarn-v$YARN_CLASSIC/bin/yarn" "$root/usr/local/bin/yarn"
  ln -s "/opt/yarn-v$YARN_CLASSIC/bin/yarnpkg" "$root/usr/local/bin/yarnpkg"
  # No RUN step: the image needs no network to be made.
  cat >"$context/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
COPY rootfs/ /
CMD ["node"]
EOF
  build node "$tag" "$context"
}

python_image() {
  local tag=$1 context="$work/python"
  mkdir -p "$context"
  # The official image has no EXTERNALLY-MANAGED marker: pip installs where it is told to.
  # Debian runs its FastAPI 0.92 with its Starlette 0.26, which FastAPI's own metadata excludes:
  # pip would then look for another Starlette on the package index, which no build here reaches.
  # The metadata is made to say what Debian ships, and `pip check` proves the set consistent.
  cat >"$context/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip python3-venv \
      python-is-python3 python3-flask python3-django python3-fastapi gunicorn uvicorn \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && sed -i 's/^Requires-Dist: starlette<0\.26\.0,>=0\.25\.0$/Requires-Dist: starlette>=0.25.0/' \
      /usr/lib/python3/dist-packages/fastapi-*.dist-info/METADATA \
 && pip check
ENV LANG=C.UTF-8
CMD ["python3"]
EOF
  build python "$tag" "$context"
}

golang_image() {
  local tag=$1 context="$work/golang"
  mkdir -p "$context"
  cat >"$context/Dockerfile" <<'EOF'
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates golang-go \
 && rm -rf /var/lib/apt/lists/*
ENV GOPATH=/go PATH=/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
CMD ["go", "version"]
EOF
  build golang "$tag" "$context"
}

bun_image() {
  local tag=$1 context="$work/bun" root
  root="$context/rootfs"
  mkdir -p "$root/usr/local/bin"
  (cd "$work" && npm pack --silent "@oven/bun-linux-x64@$BUN" >/dev/null)
  tar -xzf "$work/oven-bun-linux-x64-$BUN.tgz" -C "$work" package/bin/bun
  cp "$work/package/bin/bun" "$root/usr/local/bin/bun"
  chmod 755 "$root/usr/local/bin/bun"
  ln -s bun "$root/usr/local/bin/bunx"
  cat >"$context/Dockerfile" <<'EOF2'
ARG BASE
FROM ${BASE}
COPY rootfs/ /
CMD ["bun"]
EOF2
  build bun "$tag" "$context"
}

for name in "${names[@]}"; do
  case "$name" in
    node) tag=$(tag_of node "$(node -v) yarn $YARN_CLASSIC") ;;
    python | golang) tag=$(tag_of "$name" "") ;;
    bun) tag=$(tag_of bun "bun $BUN") ;;
    *) log "unknown image $name (node, python, golang, bun)"; exit 2 ;;
  esac
  if ! docker image inspect "$tag" >/dev/null 2>&1; then "${name}_image" "$tag"; fi
  printf '%s\t%s\n' "$name" "$tag"
done
