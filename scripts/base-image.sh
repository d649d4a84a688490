#!/usr/bin/env bash
# A Debian bookworm base image made from Debian's own archive with debootstrap, for building the
# stack's images (deploy/images/*) where no image registry answers (../../shared/ENVIRONMENT.md):
# `debootstrap --variant=minbase bookworm`, the archive's security and updates suites added, apt
# told to keep no lists or caches, then `docker import`. It takes about a minute, so it is made
# once per machine and reused: its tag is a hash of this recipe (this file), and an image with
# that tag already in the engine is kept as it is.
#
# Users build the same Dockerfiles FROM debian:bookworm-slim (their default BASE); this image is
# the local stand-in with the same apt sources.
#
# Usage: scripts/base-image.sh [DOCKER_HOST]
# Prints the image's tag on stdout (obiente-base/debian:bookworm-<hash>); progress on stderr.
# Needs root and debootstrap (scripts/services.sh installs it).
set -euo pipefail
if [ -n "${1:-}" ]; then export DOCKER_HOST="$1"; fi
log() { printf '[base-image] %s\n' "$*" >&2; }

hash=$(sha256sum "$0" | cut -c1-12)
tag="obiente-base/debian:bookworm-$hash"

# Two test processes asking at once: the second waits for the first one's image.
exec 9>/tmp/obiente-base-image.lock
flock 9
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
command -v debootstrap >/dev/null || {
  log "debootstrap is missing: apt-get install debootstrap"
  exit 1
}

work=$(mktemp -d /tmp/obiente-base-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
started=$(date +%s)
log "debootstrap --variant=minbase bookworm (about a minute)"
# No mirror argument: debootstrap's default is Debian's own archive.
debootstrap --variant=minbase bookworm "$root" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# The suites debian:bookworm-slim has: security fixes and stable updates.
cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
# As the official images do: no package caches or lists kept in layers, no recommends unless
# asked, no documentation.
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
# Services must not start while packages are installed in a build.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
rm -rf "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/*.bin "$root/var/cache/apt/archives"/*.deb
# The machine's own identity stays out of the image.
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"

tar --numeric-owner -C "$root" -c . |
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' \
    - "$tag" >/dev/null
log "built $tag in $(($(date +%s) - started)) s"
echo "$tag"
