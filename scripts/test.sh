#!/usr/bin/env bash
# The test command: starts the services the tests need (installing them when missing), then
# runs the whole suite (type check, lint, unit and integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh
# The tests that run `obiente` run the compiled program, as users do: compiled from these sources.
npm run build --silent
export TEST_REDIS_CLUSTER_URL="${TEST_REDIS_CLUSTER_URL:-redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103}"
npm test
