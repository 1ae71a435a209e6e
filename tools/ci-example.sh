#!/usr/bin/env bash
# The pipeline steps of docs/ci.md, as one script: `build` runs on every push, `deploy` on the main
# branch (OPSCTL_ENV=staging) and on a tag (OPSCTL_ENV=production). tests/lab/test_ci_example.py
# runs it against the local lab (OPSCTL_ENV=lab) and checks that every opsctl line below is in
# both pipelines of docs/ci.md, and that the pipelines run no opsctl line that is not here.
#
# Usage: VERSION=... OPSCTL_ENV=... tools/ci-example.sh build|deploy   (run in the app's directory).
# The build step writes no file (an untracked file in the build context would make it dirty); the
# deploy step leaves its JSON results in ./opsctl-*.json for the pipeline's artifacts.
set -euo pipefail
: "${VERSION:?set VERSION (a git tag, or sha-<commit>)}"
DEPLOY_MESSAGE="${DEPLOY_MESSAGE:-ci: $VERSION}"

case "${1:-}" in
build)
    opsctl check
    opsctl build "$VERSION" --json
    ;;
deploy)
    : "${OPSCTL_ENV:?set OPSCTL_ENV (staging, production)}"
    opsctl provision apply --yes --json > opsctl-provision.json
    opsctl deploy "$VERSION" --lock-wait 600 -m "$DEPLOY_MESSAGE" --json > opsctl-deploy.json
    opsctl status --json > opsctl-status.json
    ;;
*)
    echo "usage: tools/ci-example.sh build|deploy" >&2
    exit 2
    ;;
esac
