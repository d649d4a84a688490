#!/usr/bin/env bash
# Crashes node K of the Swarm harness (scripts/swarm-up.sh), as a machine that loses power: its
# link to the bridge goes down (nothing in or out), then every process of the node is killed at
# once (SIGKILL): its engine, containerd and the shims, and every container's processes. The
# node's folder, namespace and veth stay, for scripts/swarm-down.sh to remove.
#
# Usage: scripts/swarm-node-crash.sh DIR K
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:?usage: swarm-node-crash.sh DIR K}
K=${2:?usage: swarm-node-crash.sh DIR K}
DIR=${DIR%/}
# shellcheck source=scripts/swarm-common.sh
. "$here/swarm-common.sh"
check_dir
[[ "$K" =~ ^[0-9]+$ ]] || die "K must be a node number"
[ "$(id -u)" -eq 0 ] || die "needs root"
[ -d "$(node_dir "$K")" ] || die "no node$K in $DIR"

ip link set "$(node_veth "$K")" down

# The pid in a pid file, if that process is still the one that wrote it (mentions DIR).
pid_from_file() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/"; then echo "$pid"; fi
}

node_pids() {
  local dir cgroup
  dir=$(node_dir "$K")
  pid_from_file "$dir/docker.pid"
  pid_from_file "$dir/run/containerd/containerd.pid"
  ip netns pids "$(node_netns "$K")" 2>/dev/null || true
  for cgroup in /sys/fs/cgroup/*/"$(node_cgroup "$K")"; do
    [ -d "$cgroup" ] || continue
    find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}

for _ in $(seq 1 40); do
  pids=$(node_pids | sort -un)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  sleep 0.1
done
log "node$K crashed"
