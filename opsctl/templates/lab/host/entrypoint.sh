#!/bin/sh
# opsctl lab server (run under docker-init): its own Docker engine, a forwarder that makes the lab
# registry answer on 127.0.0.1:5050 inside this server, then sshd in the foreground.
set -eu

mkdir -p /run/sshd /root/.ssh /var/log
chmod 700 /root/.ssh
# Each server gets its own host key, made at first start (the image carries none).
if [ ! -f /etc/ssh/ssh_host_ed25519_key ]; then
    ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
fi

# /var/lib/docker is a tmpfs of this container: nothing is shared with other servers.
dockerd --storage-driver overlay2 >/var/log/dockerd.log 2>&1 &

# The same image reference (localhost:5050/NAME:TAG) works here and on the build machine.
socat "TCP-LISTEN:5050,bind=127.0.0.1,fork,reuseaddr" \
    "TCP:${OPSCTL_REGISTRY_HOST:-opsctl-lab-registry}:5000" >/var/log/registry-forward.log 2>&1 &

exec /usr/sbin/sshd -D -e
