"""The CI image (Dockerfile at the root, built by tools/build-image.sh FROM the lab's base image):
opsctl runs in it with its playbooks, and reaches the lab's servers over SSH."""

from __future__ import annotations

import json
import subprocess

import pytest

import opsctl
from opsctl.paths import lab_dir
from tests.lab.helpers import HELLO

pytestmark = pytest.mark.lab

def docker_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """opsctl in the image, in examples/hello, with the lab's files and network (as a CI job would
    have its checkout, its SSH key and inventory, and a route to the servers)."""
    lab = lab_dir()
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "host", "-v", f"{HELLO}:/work:ro", "-v", f"{lab}:{lab}:ro",
         "-e", f"OPSCTL_LAB_DIR={lab}", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )


def test_the_image_runs_opsctl(ci_image: str) -> None:
    image = ci_image
    version = docker_run(image, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"opsctl {opsctl.__version__}"
    checked = docker_run(image, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["app"] == "hello"


def test_the_image_reaches_the_lab_servers(ci_image: str) -> None:
    status = docker_run(ci_image, "status", "-e", "lab", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["env"] == "lab" and not data["unreachable"]
    assert sorted(data["hosts"]) == ["lab1", "lab2", "lab3"]
