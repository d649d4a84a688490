#!/usr/bin/env bash
# Builds the local base images the tests (and the embedded mode's builder, when configured so)
# use, since no registry is reachable here:
#   obiente-test/busybox:latest  busybox-static with its applets; `busybox httpd` serves files
#   obiente-test/node:latest     the host's node binary and the libraries it links, plus busybox
#   obiente-test/caddy:latest    the host's caddy (Debian's, 2.6) and its libraries, plus busybox:
#                                the static server stage of generated Dockerfiles (caddy:2-alpine)
#   obiente-test/iptables:latest the host's iptables (nft), its extensions and libraries, plus
#                                busybox: the agent's isolation helper in tests
#                                (NETWORK_ISOLATION_EXEC=engine, NETWORK_ISOLATION_IMAGE)
# Usage: scripts/test-images.sh [DOCKER_HOST]   (idempotent: skips images that exist)
set -euo pipefail
if [ -n "${1:-}" ]; then export DOCKER_HOST="$1"; fi

have() { docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

busybox_root() {
  local root="$1"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  chmod 1777 "$root/tmp"
  # Scripts start with #!/usr/bin/env.
  mkdir -p "$root/usr/bin"
  ln -s ../../bin/busybox "$root/usr/bin/env"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  echo 'nogroup:x:65534:' >>"$root/etc/group"
}

if ! have obiente-test/busybox:latest; then
  busybox_root "$work/busybox"
  tar -C "$work/busybox" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - obiente-test/busybox:latest >/dev/null
  echo "built obiente-test/busybox:latest"
fi

if ! have obiente-test/node:latest; then
  root="$work/node"
  busybox_root "$root"
  node_bin=$(readlink -f "$(command -v node)")
  mkdir -p "$root/usr/local/bin"
  cp "$node_bin" "$root/usr/local/bin/node"
  # The dynamic loader and every library node links against, at the same paths.
  for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # npm too, for the builder's generated Node.js Dockerfile (npm install, npm run build).
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/bin' -c 'CMD ["node"]' - obiente-test/node:latest >/dev/null
  echo "built obiente-test/node:latest"
fi

if ! have obiente-test/caddy:latest; then
  root="$work/caddy"
  busybox_root "$root"
  caddy_bin=$(readlink -f "$(command -v caddy)")
  mkdir -p "$root/usr/bin" "$root/etc/caddy" "$root/data" "$root/config" "$root/srv"
  cp "$caddy_bin" "$root/usr/bin/caddy"
  for lib in $(ldd "$caddy_bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  # Where the official caddy image keeps its state.
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/bin:/bin' -c 'ENV XDG_CONFIG_HOME=/config' \
    -c 'ENV XDG_DATA_HOME=/data' -c 'CMD ["caddy", "version"]' - obiente-test/caddy:latest >/dev/null
  echo "built obiente-test/caddy:latest"
fi

if ! have obiente-test/iptables:latest; then
  root="$work/iptables"
  busybox_root "$root"
  multi=$(readlink -f /usr/sbin/xtables-nft-multi)
  extensions=/usr/lib/x86_64-linux-gnu/xtables
  [ -d "$extensions" ] || extensions=$(dirname "$(dirname "$(ldd "$multi" | grep -o '/[^ ]*libxtables[^ ]*')")")/xtables
  mkdir -p "$root/usr/sbin" "$root$extensions"
  cp "$multi" "$root/usr/sbin/xtables-nft-multi"
  for name in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
    ln -s xtables-nft-multi "$root/usr/sbin/$name"
  done
  # Matches and targets are loaded at run time (dlopen): ldd of the binary does not list them.
  cp "$extensions"/*.so "$root$extensions/"
  for lib in $(for file in "$multi" "$extensions"/*.so; do ldd "$file"; done | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  cp /etc/protocols /etc/services "$root/etc/"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/sbin:/bin' -c 'CMD ["iptables", "--version"]' - obiente-test/iptables:latest >/dev/null
  echo "built obiente-test/iptables:latest"
fi
