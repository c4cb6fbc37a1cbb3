#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root) to a served demo: installs what is missing
# and builds (scripts/install-deps.sh), starts a Docker engine when none answers, then
# `fabric up --demo`: an embedded etcd, the router with HAProxy on 127.0.0.1:8080, the agent, and
# three busybox web containers that answer `curl -H 'Host: web.apps.localhost' 127.0.0.1:8080` in
# turn. Ctrl-C stops all of it (and the Docker engine, if this script started it).
# Extra arguments go to `fabric up`, e.g. --http 0.0.0.0:80 --domain apps.example.com.
# Environment: FABRIC_DATA_DIR (default ./.fabric), DOCKER_HOST (default unix:///var/run/docker.sock).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

data="${FABRIC_DATA_DIR:-$PWD/.fabric}"
docker_host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
sock="${docker_host#unix://}"
mkdir -p "$data"

docker_answers() { curl -fsS --max-time 2 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1; }

dockerd_pid=""
stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  # Ctrl-C on `scripts/run.sh | tee log` kills tee too: the message may go nowhere, dockerd stops anyway.
  trap '' PIPE
  echo "stopping the Docker engine this script started (pid $dockerd_pid)" 2>/dev/null || true
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || { dockerd_pid=""; return 0; }; sleep 0.2; done
  kill -KILL "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=""
}
trap stop_dockerd EXIT

# A private dockerd in its own session (a terminal's Ctrl-C reaches only fabric, which still needs
# Docker to remove its demo containers); this script stops it last.
start_dockerd() {
  setsid dockerd --data-root "$data/docker" --exec-root /run/fabric-docker --pidfile "$data/docker.pid" \
    -H "unix://$sock" "$@" >>"$data/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 150); do
    docker_answers && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || { dockerd_pid=""; return 1; }
    sleep 0.2
  done
  return 1
}

if ! docker_answers; then
  if [ "$(id -u)" != 0 ]; then
    echo "no Docker engine answers at $sock, and starting one needs root: run as root, or start Docker (README, 'Docker')" >&2
    exit 1
  fi
  echo "no Docker engine answers at $sock: starting dockerd (data in $data/docker, log $data/dockerd.log)"
  if ! start_dockerd; then
    stop_dockerd
    echo "dockerd did not come up; trying once more without iptables (see $data/dockerd.log)"
    start_dockerd --iptables=false --ip-masq=false || { echo "could not start dockerd: see $data/dockerd.log" >&2; exit 1; }
  fi
fi

status=0
node dist/src/cli.js up --demo --data-dir "$data" --docker "unix://$sock" "$@" || status=$?
exit "$status"
