"""The CI steps of docs/ci.md (tools/ci-example.sh) against the lab: build, then deploy, with the
exit codes and --json objects docs/ci.md promises a pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.helpers import HELLO, ROOT, reset_fleet, versions

pytestmark = pytest.mark.lab

SCRIPT = ROOT / "tools" / "ci-example.sh"


@pytest.fixture
def app(lab: Any, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "hello"
    shutil.copytree(HELLO, copy, ignore=shutil.ignore_patterns("__pycache__"))
    reset_fleet()
    yield copy
    reset_fleet()


def step(app: Path, name: str, version: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "CI": "true",
        "VERSION": version,
        "OPSCTL_ENV": "lab",
        "DEPLOY_MESSAGE": f"ci example {version}",
        "HELLO_SECRET_KEY": "ci-secret",
    }
    return subprocess.run(["bash", str(SCRIPT), name], cwd=app, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL, check=False)


def test_the_documented_steps_build_and_deploy(app: Path) -> None:
    build = step(app, "build", "ci1")
    assert build.returncode == 0, build.stderr
    # stdout: check's summary, then build's JSON object (it starts on a line of its own).
    built = json.loads(build.stdout[build.stdout.index("\n{\n") + 1:])
    assert built["digest"].startswith("sha256:")

    deploy = step(app, "deploy", "ci1")
    assert deploy.returncode == 0, deploy.stderr
    provisioned = json.loads((app / "opsctl-provision.json").read_text())
    assert provisioned["environment"] == "lab" and provisioned["applied"] == []  # the example has no AWS resources
    result = json.loads((app / "opsctl-deploy.json").read_text())
    assert result["ok"] is True and result["release"]["version"] == "ci1"
    assert result["release"]["status"] == "succeeded" and result["release"]["message"] == "ci example ci1"
    status = json.loads((app / "opsctl-status.json").read_text())
    assert status["current"]["version"] == "ci1"
    assert set(versions().values()) == {"ci1"}


def test_a_failed_deploy_exits_1_with_one_json_object(app: Path) -> None:
    failed = step(app, "deploy", "never-built")
    assert failed.returncode == 1, failed.stderr
    result = json.loads((app / "opsctl-deploy.json").read_text())  # exactly one object
    assert result["ok"] is False and result["error"]
