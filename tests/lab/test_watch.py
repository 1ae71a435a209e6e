"""`opsctl watch` on the lab: a stopped web container and a frozen (paused) server each bring an
alert, and their recovery another, to a local webhook receiver within 10 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.lab.names import container_name
from tests.lab.helpers import HelloImages, docker, hosts, notified_copy, opsctl, reset_fleet, ssh
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}


@pytest.fixture(scope="module")
def project(images: HelloImages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Receiver]]:
    reset_fleet()
    opsctl("deploy", "v1", "-e", "lab", env=ENV, check=True)
    with notified_copy(tmp_path_factory.mktemp("watch")) as found:
        yield found


def test_watch_alerts_on_a_stopped_container_and_a_frozen_host(project: tuple[Path, Receiver]) -> None:
    path, receiver = project
    lab1, lab2 = sorted(hosts())[:2]
    proc = subprocess.Popen([sys.executable, "-m", "opsctl", "watch", "-e", "lab", "--interval", "1"],
                            cwd=path, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    paused = False
    try:
        assert proc.stdout is not None
        baseline = proc.stdout.readline()
        assert "baseline:" in baseline and "all pass" in baseline, baseline

        web = ssh(lab1, "docker", "ps", "-q", "--filter", "label=opsctl.service=web").split()[0]
        ssh(lab1, "docker", "stop", "-t", "1", web)
        down = receiver.expect(f"DOWN: web on {lab1} (1/2 healthy", 10)
        assert down["event"] == "health" and down["ok"] is False and f"web on {lab1}" in down["detail"]
        ssh(lab1, "docker", "start", web)
        up = receiver.expect(f"recovered: web on {lab1} (2/2 healthy)", 10)
        assert up["detail"] == "all checks pass" and up["ok"] is True

        docker("pause", container_name(lab2))
        paused = True
        frozen = receiver.expect(f"DOWN: host {lab2} (ssh: no answer within 2 s)", 10)
        assert f"host {lab2}" in frozen["detail"]
        docker("unpause", container_name(lab2))
        paused = False
        receiver.expect(f"recovered: host {lab2}", 10)
    finally:
        if paused:
            subprocess.run(["docker", "unpause", container_name(lab2)], check=False, capture_output=True)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "DOWN: web on" in out and f"recovered: host {lab2}" in out  # the same lines on the terminal
