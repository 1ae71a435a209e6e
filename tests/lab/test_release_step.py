"""The release step's container never outlives its deploy (issue 9, part 5).

Ending `docker run` (Ansible's task timeout, a cancelled run) does not end the container, so a
migration could go on running after the deploy released its lock. A timed-out, failed, interrupted
or terminated deploy must leave no release container behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.lab.helpers import HELLO, HelloImages, opsctl, release_containers, reset_fleet

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}


@pytest.fixture()
def slow_release(images: HelloImages, tmp_path: Path) -> Iterator[Path]:
    """A copy of examples/hello whose release command sleeps for five minutes."""
    reset_fleet()
    copy = tmp_path / "hello"
    shutil.copytree(HELLO, copy)
    config = yaml.safe_load((copy / "opsctl.yml").read_text())
    config["release"] = {"command": ["python3", "-c", "import time; time.sleep(300)"], "timeout": 4}
    (copy / "opsctl.yml").write_text(yaml.safe_dump(config))
    yield copy
    reset_fleet()


def unlocked(cwd: Path) -> bool:
    status = opsctl("lock", "status", "-e", "lab", "--json", cwd=cwd, env=ENV)
    return json.loads(status.stdout)["locked"] is False


def test_a_timed_out_release_step_is_removed(slow_release: Path) -> None:
    deploy = opsctl("deploy", "v1", "-e", "lab", cwd=slow_release, env=ENV)
    assert deploy.returncode == 1
    assert "Run the release command" in deploy.stderr
    assert release_containers() == []
    assert unlocked(slow_release)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_release_step_is_removed(slow_release: Path, sig: signal.Signals) -> None:
    config = yaml.safe_load((slow_release / "opsctl.yml").read_text())
    config["release"]["timeout"] = 600
    (slow_release / "opsctl.yml").write_text(yaml.safe_dump(config))
    deploy = subprocess.Popen(
        [sys.executable, "-m", "opsctl", "deploy", "v1", "-e", "lab"], cwd=slow_release,
        env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not release_containers():
            assert deploy.poll() is None, deploy.communicate()
            assert time.monotonic() < deadline, "the release step never started"
            time.sleep(0.5)
        deploy.send_signal(sig)
        _, err = deploy.communicate(timeout=120)
    finally:
        if deploy.poll() is None:
            deploy.kill()
    assert deploy.returncode == 130, err
    assert release_containers() == []
    assert unlocked(slow_release)
