#!/usr/bin/env bash
# Make this machine ready for opsctl's lab and its tests (idempotent; run as root on Debian):
# installs docker.io, debootstrap, docker-registry, apache2-utils (htpasswd, bcrypt for the lab
# registry), openssh-client and python3-venv when missing, and starts dockerd when its socket does
# not answer.
# Works on a fresh machine and over leftovers of earlier runs in /var/lib/docker.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    echo "tools/setup-machine.sh must run as root (it installs packages and starts dockerd)" >&2
    exit 1
fi

# package -> a file it installs (checking files is faster than asking dpkg for each).
declare -A wanted=(
    [docker.io]=/usr/sbin/dockerd
    [debootstrap]=/usr/sbin/debootstrap
    [docker-registry]=/usr/bin/docker-registry
    [apache2-utils]=/usr/bin/htpasswd
    [openssh-client]=/usr/bin/ssh-keygen
)
missing=()
for package in "${!wanted[@]}"; do
    [ -e "${wanted[$package]}" ] || missing+=("$package")
done
# `python3 -m venv` (make's .venv, and the packaging test's fresh virtualenv) needs ensurepip,
# which Debian ships apart in python3-venv.
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_answers() {
    timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if engine_answers; then
    log "dockerd is running"
    exit 0
fi

# A dockerd killed with its machine's processes leaves its pid files behind; they would stop
# a new one from starting. Remove them only when no such process is alive.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile" 2>/dev/null || true)"
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pidfile"
        fi
    fi
done

log "starting dockerd (log: /var/log/dockerd.log)"
setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &

for _ in $(seq 1 120); do
    if engine_answers; then
        log "dockerd is up"
        exit 0
    fi
    sleep 0.5
done
echo "dockerd did not answer within 60 s; see /var/log/dockerd.log:" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
