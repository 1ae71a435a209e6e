#!/usr/bin/env bash
# The main job on the lab, end to end: lab up, build v1, deploy v1, build v2, deploy v2, rollback,
# then status and releases. Run it with `make demo` (which installs what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# The example app has one secret; a real app would keep it in its secrets file or CI's vault.
export HELLO_SECRET_KEY="${HELLO_SECRET_KEY:-demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"

opsctl lab up --hosts 3
cd examples/hello
# --allow-dirty: the demo must also run from a checkout you have been editing.
opsctl build v1 --allow-dirty
opsctl deploy v1 -e lab -m "demo: first release"
opsctl build v2 --allow-dirty
opsctl deploy v2 -e lab -m "demo: second release"
opsctl rollback -e lab -m "demo: back to v1"
opsctl status -e lab
opsctl releases -e lab
echo
echo "The lab is still up: curl http://127.0.0.1:8081/version ; 'opsctl lab down' removes it."
