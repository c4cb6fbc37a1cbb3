#!/usr/bin/env bash
# The whole test suite against real etcd, dockerd, HAProxy and nginx, after the type checker and
# the lint/format check (Biome): a submission that does not type-check or is not formatted fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the suite starts its own dockerd" >&2; exit 1; }
scripts/install-deps.sh
npm run --silent check
exec npx vitest run "$@"
