#!/usr/bin/env bash
# A real N-node Docker Swarm on this one machine, for tests and for trying the cluster mode
# (../../shared/ENVIRONMENT.md, "A multi-node Swarm on one machine"):
#   - a bridge br-obt (10.77.0.1/24) on the host; node K is a network namespace "nodeK" joined to
#     it by a veth pair, at 10.77.0.(10+K), with its own dockerd (data, exec root and socket in
#     DIR/nodeK, hostname nodeK), started with `nsenter --net` (not `ip netns exec`, which remounts
#     /sys and hides the cgroup mounts dockerd needs);
#   - node1 is the only manager (`swarm init --advertise-addr 10.77.0.11`), the others join as
#     workers: stopping any worker's engine is a node failure the manager sees, while the cluster
#     keeps working (with one manager there is no Raft quorum to lose; three managers would
#     survive the loss of one manager, which these tests do not need);
#   - the dispatcher heartbeat is 2 s (Swarm's default is 5 s), so a dead node is reported down
#     within about 10 s;
#   - every node carries the label compute=true, and every engine gets the local test images
#     (`docker save` from the host engine piped into `docker load`: there is no registry here).
#
# Usage: scripts/swarm-up.sh [N] [DIR]     N: 1-20 nodes (default 3), DIR: default /tmp/obiente-swarm
# Prints one line per node on stdout, tab-separated: name, address, socket, role, Swarm node id.
# Progress goes to stderr. Idempotent: run again with the same N and DIR while the harness is up
# and it only prints the nodes; a harness left behind by a process that is gone is torn down
# first. Tear down with scripts/swarm-down.sh [DIR].
#
# Environment: SWARM_SOURCE_DOCKER_HOST (the engine the images come from, default the host's
# unix:///var/run/docker.sock), SWARM_IMAGES (default "obiente-test/busybox:latest
# obiente-test/node:latest"; missing obiente-test images are built with test-images.sh),
# SWARM_HEARTBEAT (default 2s), SWARM_OWNER_PID (the process the harness belongs to; default the
# caller of this script).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:-3}
DIR=${2:-/tmp/obiente-swarm}
# shellcheck source=scripts/swarm-common.sh
. "$here/swarm-common.sh"

SOURCE=${SWARM_SOURCE_DOCKER_HOST:-unix:///var/run/docker.sock}
IMAGES=${SWARM_IMAGES:-obiente-test/busybox:latest obiente-test/node:latest}
HEARTBEAT=${SWARM_HEARTBEAT:-2s}
OWNER_PID=${SWARM_OWNER_PID:-$PPID}

[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 20 ] || die "N must be 1-20, got '$N'"
DIR=${DIR%/}
check_dir
require_root_tools
started=$(date +%s.%N)

print_nodes() { cat "$DIR/nodes.tsv"; }

# Is the harness in DIR up, with N ready nodes?
harness_healthy() {
  [ -f "$DIR/nodes.tsv" ] && [ -f "$DIR/harness.env" ] || return 1
  grep -qx "N=$N" "$DIR/harness.env" || return 1
  local k
  for k in $(seq 1 "$N"); do
    pid_alive "$(cat "$(node_dir "$k")/docker.pid" 2>/dev/null)" || return 1
  done
  [ "$(docker -H "$(node_socket 1)" node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" -eq "$N" ]
}

# --- Who owns the machine's harness now --------------------------------------------------------
if [ -f "$SWARM_OWNER_FILE" ]; then
  read -r owner_dir owner_pid <"$SWARM_OWNER_FILE" || true
  if [ "${owner_dir:-}" = "$DIR" ] && harness_healthy; then
    log "already up in $DIR"
    echo "$DIR $OWNER_PID" >"$SWARM_OWNER_FILE"
    print_nodes
    exit 0
  fi
  if [ "${owner_dir:-}" != "$DIR" ] && pid_alive "${owner_pid:-}"; then
    die "a harness is up in ${owner_dir} for process ${owner_pid}: run scripts/swarm-down.sh ${owner_dir} first"
  fi
  log "tearing down what was left in ${owner_dir:-?}"
  bash "$here/swarm-down.sh" "${owner_dir:-$DIR}" >&2
fi
# Leftovers of a run that never wrote its owner file (same fixed names).
if ip link show "$SWARM_BRIDGE" >/dev/null 2>&1 || [ -e "$DIR" ]; then
  bash "$here/swarm-down.sh" "$DIR" >&2
fi

mkdir -p "$DIR"
printf 'N=%s\n' "$N" >"$DIR/harness.env"
echo "$DIR $OWNER_PID" >"$SWARM_OWNER_FILE"
# From here on, a failure leaves the harness for swarm-down (or the next swarm-up) to remove.

# --- Images: saved from the source engine while the engines start ------------------------------
export DOCKER_HOST="$SOURCE"
need_build=0
for image in $IMAGES; do
  case "$image" in obiente-test/*) docker image inspect "$image" >/dev/null 2>&1 || need_build=1 ;; esac
done
[ "$need_build" -eq 0 ] || bash "$here/test-images.sh" "$SOURCE" >&2
# shellcheck disable=SC2086
docker save -o "$DIR/images.tar" $IMAGES &
save_pid=$!
unset DOCKER_HOST

# --- Network: bridge, one namespace and veth pair per node -------------------------------------
ip link add "$SWARM_BRIDGE" type bridge
ip addr add "$SWARM_HOST_ADDRESS/$SWARM_PREFIX_LENGTH" dev "$SWARM_BRIDGE"
ip link set "$SWARM_BRIDGE" up
# The host's Docker sets the FORWARD policy to DROP; traffic between nodes crosses the bridge.
iptables -C FORWARD -i "$SWARM_BRIDGE" -o "$SWARM_BRIDGE" -j ACCEPT 2>/dev/null ||
  iptables -I FORWARD 1 -i "$SWARM_BRIDGE" -o "$SWARM_BRIDGE" -j ACCEPT
for k in $(seq 1 "$N"); do
  ns=$(node_netns "$k")
  veth=$(node_veth "$k")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$SWARM_BRIDGE" up
  ip -n "$ns" addr add "$(node_address "$k")/$SWARM_PREFIX_LENGTH" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$SWARM_HOST_ADDRESS"
done

# --- Engines, started in parallel ----------------------------------------------------------------
start_engine() {
  local k=$1 dir
  dir=$(node_dir "$k")
  mkdir -p "$dir/lib" "$dir/run"
  # Own UTS namespace so that each node has its own hostname (Swarm shows it in `node ls`).
  # --no-new-privileges: the engine default for every container, Swarm tasks included (the
  # service API takes no-new-privileges per service only from API 1.44 on).
  # --insecure-registry: registries on the harness's own addresses speak plain HTTP (tests).
  setsid nsenter --net="/var/run/netns/$(node_netns "$k")" \
    unshare --uts -- sh -c 'hostname "$1" && shift && exec "$@"' sh "node$k" \
    dockerd \
    --data-root "$dir/lib" \
    --exec-root "$dir/run" \
    -H "$(node_socket "$k")" \
    --pidfile "$dir/docker.pid" \
    --cgroup-parent "/$(node_cgroup "$k")" \
    --no-new-privileges \
    --insecure-registry "$SWARM_INSECURE_REGISTRIES" \
    --log-level warn \
    </dev/null >"$dir/dockerd.log" 2>&1 &
  # setsid, nsenter, unshare and sh each exec the next: this is dockerd's pid.
  echo "$!" >"$dir/launcher.pid"
}

wait_engine() {
  local k=$1 dir launcher _
  dir=$(node_dir "$k")
  launcher=$(cat "$dir/launcher.pid")
  for _ in $(seq 1 240); do
    docker -H "$(node_socket "$k")" version >/dev/null 2>&1 && return 0
    pid_alive "$launcher" || break
    sleep 0.25
  done
  log "the engine of node$k did not start; last lines of $dir/dockerd.log:"
  tail -n 30 "$dir/dockerd.log" >&2 || true
  return 1
}

# Runs "$@" once per node (argument K appended), in parallel; fails if any failed.
each_node() {
  local from=$1 pids=() k pid failed=0
  shift
  for k in $(seq "$from" "$N"); do
    "$@" "$k" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

log "starting $N engines in $DIR"
for k in $(seq 1 "$N"); do start_engine "$k"; done
each_node 1 wait_engine || die "an engine did not start"

# --- Swarm: node1 manager, the others workers ----------------------------------------------------
manager=$(node_socket 1)
docker -H "$manager" swarm init \
  --advertise-addr "$(node_address 1)" \
  --listen-addr "$(node_address 1):2377" \
  --dispatcher-heartbeat "$HEARTBEAT" >/dev/null
token=$(docker -H "$manager" swarm join-token -q worker)

join_node() {
  local k=$1
  docker -H "$(node_socket "$k")" swarm join \
    --advertise-addr "$(node_address "$k")" \
    --listen-addr "$(node_address "$k"):2377" \
    --token "$token" "$(node_address 1):2377" >/dev/null
}

load_images() {
  local k=$1
  docker -H "$(node_socket "$k")" load -q -i "$DIR/images.tar" >/dev/null
}

[ "$N" -lt 2 ] || each_node 2 join_node || die "a node could not join the swarm"
wait "$save_pid" || die "could not save the images $IMAGES from $SOURCE"
each_node 1 load_images || die "could not load the images into every engine"
rm -f "$DIR/images.tar"

for _ in $(seq 1 120); do
  ready=$(docker -H "$manager" node ls --format '{{.Status}}' | grep -c '^Ready$' || true)
  [ "$ready" -eq "$N" ] && break
  sleep 0.25
done
[ "$ready" -eq "$N" ] || die "only $ready of $N nodes are ready"

# --- Labels and the node list ----------------------------------------------------------------------
: >"$DIR/nodes.tsv"
for k in $(seq 1 "$N"); do
  id=$(docker -H "$(node_socket "$k")" info --format '{{.Swarm.NodeID}}')
  docker -H "$manager" node update --label-add compute=true "$id" >/dev/null
  role=worker
  [ "$k" -eq 1 ] && role=manager
  printf '%s\t%s\t%s\t%s\t%s\n' "node$k" "$(node_address "$k")" "$(node_socket "$k")" "$role" "$id" \
    >>"$DIR/nodes.tsv"
done

log "up in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s: $N nodes, manager $manager"
print_nodes
