#!/usr/bin/env bash
# Build the CI image (Dockerfile at the root): collect opsctl's wheel and its dependencies' wheels
# into build/image/wheels (from pip's cache or the package registry), then `docker build` offline.
# Usage: tools/build-image.sh [TAG] [docker build args...]   (default tag: opsctl:<version>)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
version="$("$python" -c 'import opsctl; print(opsctl.__version__)')"
tag="${1:-opsctl:$version}"
shift || true

# The default base is built on this machine by `opsctl lab up` (no public registry is reachable here).
if [[ " $* " != *" BASE="* ]] && ! docker image inspect opsctl/base:bookworm >/dev/null 2>&1; then
    echo "error: no opsctl/base:bookworm image: run 'opsctl lab up' once (it builds it)," \
        "or pass --build-arg BASE=<a Debian bookworm image with python3>" >&2
    exit 1
fi

rm -rf build/image/wheels
"$python" -m pip wheel --quiet --wheel-dir build/image/wheels .
docker build --tag "$tag" "$@" .
echo "built $tag"
