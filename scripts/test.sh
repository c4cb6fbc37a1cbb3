#!/usr/bin/env bash
# The whole test suite against real etcd, dockerd, HAProxy and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the suite starts its own dockerd" >&2; exit 1; }
scripts/install-deps.sh
exec npx vitest run "$@"
