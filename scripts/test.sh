#!/usr/bin/env bash
# The test command: starts the services the tests need (installing them when missing), then
# runs the whole suite (type check, lint, unit and integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh
npm test
