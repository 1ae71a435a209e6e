"""The CI image (Dockerfile at the root, built by tools/build-image.sh FROM the lab's base image):
opsctl runs in it with its playbooks, and reaches the lab's servers over SSH."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

import opsctl
from opsctl.paths import lab_dir
from tests.lab.helpers import HELLO, ROOT

pytestmark = pytest.mark.lab

TAG = "opsctl-ci:test"


def docker_run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """opsctl in the image, in examples/hello, with the lab's files and network (as a CI job would
    have its checkout, its SSH key and inventory, and a route to the servers)."""
    lab = lab_dir()
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "host", "-v", f"{HELLO}:/work:ro", "-v", f"{lab}:{lab}:ro",
         "-e", f"OPSCTL_LAB_DIR={lab}", *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )


@pytest.fixture(scope="module")
def image(lab: Any) -> str:
    built = subprocess.run([str(ROOT / "tools" / "build-image.sh"), TAG], cwd=ROOT, capture_output=True,
                           text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return TAG


def test_the_image_runs_opsctl(image: str) -> None:
    version = docker_run(image, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"opsctl {opsctl.__version__}"
    checked = docker_run(image, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["app"] == "hello"


def test_the_image_reaches_the_lab_servers(image: str) -> None:
    status = docker_run(image, "status", "-e", "lab", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["env"] == "lab" and not data["unreachable"]
    assert sorted(data["hosts"]) == ["lab1", "lab2", "lab3"]
