"""Pulling the release's image on a host, shared by opsctl_prepare (a deploy's one prepare call)
and opsctl_pull (the watcher's image)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

# Runs `argv` and returns (exit status, stdout, stderr), like AnsibleModule.run_command.
Run = Callable[[Sequence[str]], tuple[int, str, str]]

# Docker's answer is quoted up to this length (its end says why).
SAID = 1500


class PullError(Exception):
    pass


def _said(rc: int, out: str, err: str) -> str:
    return (err or out).strip()[-SAID:] or f"exit status {rc}"


def image_id(run: Run, image: str) -> str:
    rc, out, _ = run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    return out.strip() if rc == 0 else ""


def pull(run: Run, image: str, fetch: bool = True) -> tuple[bool, list[str]]:
    """Pull `image` (or, with fetch=False, only require it here); whether it changed, and the
    registry digests (repo@sha256:...) it resolved to. PullError carries Docker's own words."""
    before = image_id(run, image)
    if not fetch:
        if not before:
            raise PullError(f"image {image} is not on this Docker engine (it is built here, never pulled)")
    else:
        rc, out, err = run(["docker", "pull", "--quiet", image])
        if rc != 0:
            # Docker's own words, whose end says why (registry, tag, disk); opsctl names the cause.
            raise PullError(f"docker pull {image} failed: {_said(rc, out, err)}")
    rc, out, err = run(["docker", "image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", image])
    if rc != 0:
        raise PullError(f"docker image inspect {image} failed: {_said(rc, out, err)}")
    after, _, digests = out.strip().partition(" ")
    found = json.loads(digests or "[]")
    return after != before, [str(d) for d in found] if isinstance(found, list) else []
