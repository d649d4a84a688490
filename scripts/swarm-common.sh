# Shared by swarm-up.sh and swarm-down.sh (sourced, not run): the names and addresses of the
# multi-node Swarm harness. One harness per machine at a time: the bridge, the 10.77.0.0/24
# addresses and the namespace names are fixed (see ../../shared/ENVIRONMENT.md).
# shellcheck shell=bash

SWARM_BRIDGE=br-obt
SWARM_HOST_ADDRESS=10.77.0.1
SWARM_PREFIX_LENGTH=24
# The engines talk plain HTTP to registries on the harness's own addresses (a test registry on
# the host's bridge address, as test/cluster-registry.test.ts runs): dockerd --insecure-registry.
SWARM_INSECURE_REGISTRIES=10.77.0.0/24
# Who owns the harness now: the folder it lives in and the process that brought it up.
SWARM_OWNER_FILE=/run/obiente-swarm.owner

log() { printf '[swarm] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Node K (1-based): network namespace, address, folder, socket, host end of its veth pair.
node_netns() { printf 'node%d' "$1"; }
node_address() { printf '10.77.0.%d' "$((10 + $1))"; }
node_dir() { printf '%s/node%d' "$DIR" "$1"; }
node_socket() { printf 'unix://%s/node%d/docker.sock' "$DIR" "$1"; }
node_veth() { printf 'veth-obt%d' "$1"; }
# The cgroup (v1: under every controller) the engine puts its containers in, so that what a
# killed engine leaves running can be found and stopped.
node_cgroup() { printf 'obiente-swarm-node%d' "$1"; }

require_root_tools() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, a bridge, iptables, dockerd)"
  local tool
  for tool in ip iptables nsenter unshare setsid dockerd docker; do
    command -v "$tool" >/dev/null 2>&1 || die "needs '$tool' (Debian: iproute2, iptables, util-linux, docker.io)"
  done
}

# Refuses paths that cannot be a harness folder, before anything is created or deleted there.
check_dir() {
  case "$DIR" in
    /*) ;;
    *) die "DIR must be an absolute path, got '$DIR'" ;;
  esac
  case "$DIR" in
    / | /tmp | /tmp/ | /var | /var/* | /usr | /usr/* | /etc | /etc/* | /root | /home | /run | /run/*)
      die "refusing DIR '$DIR'"
      ;;
  esac
  # Unix socket paths are limited to 108 bytes; containerd's live deepest under the exec root.
  [ "${#DIR}" -le 48 ] || die "DIR '$DIR' is too long for the engines' unix sockets (max 48 characters)"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
