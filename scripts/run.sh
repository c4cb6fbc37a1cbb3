#!/usr/bin/env bash
# The main job on one machine, until `fabric up` lands: etcd (if none answers),
# a Docker engine (if none answers), the router with a supervised HAProxy on
# 127.0.0.1:8080, and the agent on the local Docker socket. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

data="${FABRIC_DATA_DIR:-$PWD/.fabric}"
etcd_url="${FABRIC_ETCD:-http://127.0.0.1:2379}"
docker_sock="${DOCKER_SOCK:-/var/run/docker.sock}"
http="${FABRIC_HTTP:-127.0.0.1:8080}"
domain="${FABRIC_DOMAIN:-apps.localhost}"
mkdir -p "$data"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if ! curl -fsS "$etcd_url/health" >/dev/null 2>&1; then
  echo "starting etcd ($data/etcd, $etcd_url)"
  etcd --data-dir "$data/etcd" --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 >"$data/etcd.log" 2>&1 &
  pids+=($!)
  until curl -fsS "$etcd_url/health" >/dev/null 2>&1; do sleep 0.2; done
fi

if ! curl -fsS --unix-socket "$docker_sock" http://docker/_ping >/dev/null 2>&1; then
  echo "no Docker engine at $docker_sock: starting dockerd (data under $data/docker)"
  dockerd --data-root "$data/docker" --exec-root /tmp/fabric-docker-exec --pidfile "$data/docker.pid" \
    -H "unix://$docker_sock" >"$data/dockerd.log" 2>&1 &
  pids+=($!)
  until curl -fsS --unix-socket "$docker_sock" http://docker/_ping >/dev/null 2>&1; do sleep 0.3; done
fi

cat >"$data/router.yaml" <<YAML
domain: $domain
targets:
  - kind: haproxy
    http: $http
    dest: $data/haproxy/haproxy.cfg
YAML
node dist/src/cli.js router --etcd "$etcd_url" --config "$data/router.yaml" >"$data/router.log" 2>&1 &
pids+=($!)
echo "router: HTTP frontend $http, API http://127.0.0.1:7080 (log $data/router.log)"
echo "agent: registering containers labelled fabric.service=<name>; they answer at <name>.$domain"
echo "  try: docker run -d -l fabric.service=web -p 127.0.0.1::80 <image>; curl -H 'Host: web.$domain' $http"
node dist/src/cli.js agent --etcd "$etcd_url" --docker "unix://$docker_sock" --host-ip 127.0.0.1 &
pids+=($!)
wait -n
