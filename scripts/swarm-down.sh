#!/usr/bin/env bash
# Tears down what scripts/swarm-up.sh made, so that the next run starts clean: the engines and
# everything they started (killed by pid: the pid files, the processes in each node's network
# namespace, the processes in each node's container cgroups), their mounts, the namespaces, veth
# pairs, the bridge, the iptables rule, the cgroups and DIR itself. Safe to run twice, and on a
# harness that only half came up.
#
# Usage: scripts/swarm-down.sh [DIR]     DIR: default /tmp/obiente-swarm
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-/tmp/obiente-swarm}
DIR=${DIR%/}
# shellcheck source=scripts/swarm-common.sh
. "$here/swarm-common.sh"
check_dir
[ "$(id -u)" -eq 0 ] || die "needs root"
started=$(date +%s.%N)
# The namespaces and cgroups have fixed names: remove every node the harness may have had.
MAX_NODES=20

# The pid in a pid file, if that process is still the one that wrote it (mentions DIR).
pid_from_file() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null) || return 0
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/"; then echo "$pid"; fi
}

# Every process of node K: its engine, containerd, shims and proxies (all in its namespace) and
# its containers' processes (in its cgroups).
node_pids() {
  local k=$1 dir cgroup
  dir=$(node_dir "$k")
  pid_from_file "$dir/docker.pid"
  pid_from_file "$dir/run/containerd/containerd.pid"
  if [ -e "/var/run/netns/$(node_netns "$k")" ]; then
    ip netns pids "$(node_netns "$k")" 2>/dev/null || true
  fi
  for cgroup in /sys/fs/cgroup/*/"$(node_cgroup "$k")"; do
    [ -d "$cgroup" ] || continue
    find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}

all_pids() {
  local k
  for k in $(seq 1 "$MAX_NODES"); do node_pids "$k"; done | sort -un
}

# Killed outright: the harness is being thrown away, a graceful stop would only take longer.
for _ in $(seq 1 40); do
  pids=$(all_pids)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
  sleep 0.1
done
[ -z "$(all_pids)" ] || log "warning: processes of the harness survived: $(all_pids | tr '\n' ' ')"

# Mounts the engines left under DIR (overlay layers, container namespaces, shm), deepest first.
if [ -d "$DIR" ]; then
  awk -v dir="$DIR/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
    while IFS= read -r mountpoint; do umount -l "$mountpoint" 2>/dev/null || true; done
fi

for k in $(seq 1 "$MAX_NODES"); do
  ns=$(node_netns "$k")
  [ ! -e "/var/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
  ! ip link show "$(node_veth "$k")" >/dev/null 2>&1 || ip link del "$(node_veth "$k")" 2>/dev/null || true
  for cgroup in /sys/fs/cgroup/*/"$(node_cgroup "$k")"; do
    [ -d "$cgroup" ] || continue
    find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
done
! ip link show "$SWARM_BRIDGE" >/dev/null 2>&1 || ip link del "$SWARM_BRIDGE"
while iptables -C FORWARD -i "$SWARM_BRIDGE" -o "$SWARM_BRIDGE" -j ACCEPT 2>/dev/null; do
  iptables -D FORWARD -i "$SWARM_BRIDGE" -o "$SWARM_BRIDGE" -j ACCEPT
done

if [ -d "$DIR" ]; then
  rm -rf "$DIR" 2>/dev/null || {
    sleep 0.5
    rm -rf "$DIR" || log "warning: could not remove all of $DIR"
  }
fi
if [ -f "$SWARM_OWNER_FILE" ]; then
  read -r owner_dir owner_pid <"$SWARM_OWNER_FILE" || true
  if [ "${owner_dir:-}" = "$DIR" ] || ! pid_alive "${owner_pid:-}"; then rm -f "$SWARM_OWNER_FILE"; fi
fi
log "down in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
