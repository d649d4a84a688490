#!/usr/bin/env bash
# Builds the images of the stack's services from deploy/images/<name>/Dockerfile (etcd, postgres,
# haproxy, redis, caddy, prometheus, alertmanager; pgpool on request), each FROM the base given
# as the build argument BASE. An image is tagged with a hash of its build context and of the
# base image's id, and not built again while an image with that tag exists: run it as often as
# you like, only what changed is built.
#
# Usage: scripts/stack-images.sh [--base IMAGE|local] [--prefix PREFIX] [--tag TAG] [--jobs N] [NAME...]
#   --base     the Debian base (default debian:bookworm-slim, pulled by docker build);
#              `local` makes one from Debian's archive with scripts/base-image.sh (no registry)
#   --prefix   tags are PREFIX<name>:<hash> (default obiente-); e.g. registry.example.com/obiente-
#   --tag      also tag each image PREFIX<name>:TAG (what deploy/stack.yml's STACK_IMAGE_TAG names)
#   --jobs     builds at once (default 3: most of the time goes to downloading packages)
#   NAME...    only these images (default: all but pgpool)
# Prints one line per image on stdout, tab-separated: name, tag, image id (sha256:…).
# Push them to your registry yourself (docs/stack.md, "Images").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
log() { printf '[stack-images] %s\n' "$*" >&2; }

base=debian:bookworm-slim
prefix=obiente-
jobs=3
extra_tag=""
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --tag) extra_tag=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) log "unknown option $1"; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { log "--jobs must be a positive number"; exit 2; }
[ -z "$extra_tag" ] || [[ "$extra_tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
  { log "--tag must be a Docker tag (letters, digits, _ . -)"; exit 2; }
if [ "${#names[@]}" -eq 0 ]; then
  names=(etcd postgres haproxy redis caddy prometheus alertmanager)
fi
for name in "${names[@]}"; do
  [[ "$name" =~ ^[a-z0-9-]+$ ]] && [ -f "$root/deploy/images/$name/Dockerfile" ] ||
    { log "no deploy/images/$name/Dockerfile"; exit 2; }
done

if [ "$base" = local ]; then
  base=$(bash "$here/base-image.sh")
fi
base_id=$(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || true)
if [ -z "$base_id" ]; then
  log "pulling $base"
  docker pull -q "$base" >/dev/null
  base_id=$(docker image inspect -f '{{.Id}}' "$base")
fi

# Concurrent runs (two test files at once) build each image once: the second waits.
exec 9>/tmp/obiente-stack-images.lock
flock 9

# The context as docker build sees it (names, modes, contents; not times or owners) and the base.
context_hash() {
  {
    printf '%s\n' "$base_id"
    tar --sort=name --exclude=__pycache__ --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root/deploy/images/$1" -cf - .
  } | sha256sum | cut -c1-16
}

build_one() {
  local name=$1 tag=$2 started
  started=$(date +%s)
  if ! docker build -q --build-arg "BASE=$base" -t "$tag" "$root/deploy/images/$name" >"/tmp/obiente-stack-image-$name.log" 2>&1; then
    log "building $name failed:"
    tail -n 40 "/tmp/obiente-stack-image-$name.log" >&2
    touch "$failures/$name"
    return 1
  fi
  log "built $tag in $(($(date +%s) - started)) s"
}

declare -A tags
failures=$(mktemp -d)
trap 'rm -rf "$failures"' EXIT
for name in "${names[@]}"; do
  tag="${prefix}${name}:$(context_hash "$name")"
  tags[$name]=$tag
  if docker image inspect "$tag" >/dev/null 2>&1; then continue; fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  build_one "$name" "$tag" &
done
wait
[ -z "$(ls -A "$failures")" ] || exit 1

for name in "${names[@]}"; do
  [ -z "$extra_tag" ] || docker tag "${tags[$name]}" "${prefix}${name}:${extra_tag}"
  printf '%s\t%s\t%s\n' "$name" "${tags[$name]}" "$(docker image inspect -f '{{.Id}}' "${tags[$name]}")"
done
