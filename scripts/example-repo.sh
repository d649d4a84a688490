#!/usr/bin/env bash
# Makes a small app in a local git repository, to try deployments with no network at all:
# its Dockerfile starts FROM a base image built here from Debian's busybox-static
# (scripts/test-images.sh), so nothing is pulled from a registry.
# Usage: scripts/example-repo.sh [DIR]   (default /tmp/obiente-example)
set -euo pipefail
dir="${1:-/tmp/obiente-example}"
here="$(cd "$(dirname "$0")" && pwd)"
command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || {
  echo "needs busybox-static: apt-get install busybox-static" >&2
  exit 1
}
"$here/test-images.sh" >/dev/null
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
git init -q -b main
cat >Dockerfile <<'DOCKERFILE'
FROM obiente-test/busybox:latest
RUN mkdir -p /www && echo '<h1>Hello from Obiente Cloud</h1>' > /www/index.html
EXPOSE 8080
CMD ["busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
DOCKERFILE
git add Dockerfile
git -c user.name=obiente -c user.email=example@obiente.local commit -q -m "A tiny web app"
echo "example app ready: file://$dir (branch main)"
