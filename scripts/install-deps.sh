#!/usr/bin/env bash
# Installs what fabric needs on Debian 12, as root: the real components it
# drives and its npm dependencies, then builds it. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# wrk: the load client of the bench ng (without it the bench uses its own, slower, node loop).
packages=(etcd-server etcd-client haproxy nginx libnginx-mod-http-lua docker.io busybox-static openssl curl iproute2 ca-certificates chromium pebble wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged daemons where systemd runs; fabric starts its own.
for svc in nginx haproxy etcd docker; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
