#!/usr/bin/env bash
# Installs (when missing) and starts what the integration tests talk to, from Debian's
# packages: PostgreSQL 15, Redis (and Sentinel), a Docker engine, Caddy and Pebble (and the image registry
# docker-registry and OpenSSH's sshd, which the tests start themselves on loopback). Idempotent:
# a service that already answers is left alone. Needs root (as on the CI machines).
set -euo pipefail
log() { printf '[services] %s\n' "$*"; }

packages=(postgresql redis-server docker.io busybox-static caddy pebble git openssl ca-certificates iproute2 iptables wrk chromium docker-registry openssh-server dnsmasq-base redis-sentinel debootstrap)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL: the cluster Debian creates, reachable with a password on loopback.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
  if [ -z "$cluster" ]; then
    pg_createcluster 15 main >/dev/null
    cluster="15 main"
  fi
  log "starting PostgreSQL $cluster"
  # shellcheck disable=SC2086
  pg_ctlcluster $cluster start
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null

# Redis, in memory only.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 40); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.25; done
fi

# A Redis Cluster of three masters on loopback (ports 7101-7103), for the cluster contract
# (test/platform-redis-cluster.test.ts, TEST_REDIS_CLUSTER_URL in scripts/test.sh).
if ! redis-cli -p 7101 cluster info 2>/dev/null | grep -q "cluster_state:ok"; then
  log "starting a Redis Cluster on 127.0.0.1:7101-7103"
  for port in 7101 7102 7103; do
    dir="/tmp/obiente-redis-cluster/$port"
    if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
      rm -rf "$dir" && mkdir -p "$dir"
      redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
        --cluster-enabled yes --cluster-config-file nodes.conf --save "" --appendonly no >/dev/null
    fi
  done
  for port in 7101 7102 7103; do
    for _ in $(seq 1 40); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.25; done
  done
  redis-cli --cluster create 127.0.0.1:7101 127.0.0.1:7102 127.0.0.1:7103 \
    --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 40); do
    redis-cli -p 7101 cluster info | grep -q "cluster_state:ok" && break
    sleep 0.25
  done
fi

# Docker engine.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/tmp/obiente-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -50 /tmp/obiente-dockerd.log; exit 1; }
fi

# Base images the tests build from (no registry here).
"$(dirname "$0")/test-images.sh"
# The production stack's images (deploy/images), from a Debian base made from Debian's archive:
# about ten minutes on a fresh machine, nothing when they exist (tagged by content).
# Built only for the stack's tests (STACK_TESTS=1, test/stack-deploy.test.ts).
if [ "${STACK_TESTS:-}" = 1 ]; then
  log "building the stack's images (scripts/stack-images.sh)"
  bash "$(dirname "$0")/stack-images.sh" --base local >/dev/null
fi
log "ready: PostgreSQL, Redis, a Redis Cluster, Docker"
