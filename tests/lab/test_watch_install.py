"""`opsctl watch --install` on the lab: the watcher runs as one container on lab1 (an opsctl image
built here with tools/build-image.sh and pushed to the lab's registry by `--push`), a stopped web
container on another server and a frozen (paused) server each bring an alert and a recovery to a
receiver on this machine within 10 s, and `--uninstall` leaves nothing behind on any server."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import opsctl as opsctl_pkg
from opsctl.lab.names import NETWORK, container_name
from tests.lab.helpers import HelloImages, docker, hosts, notified_copy, opsctl, reset_fleet, ssh
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}
LOCAL_IMAGE = "opsctl-ci:test"  # the session's CI image (tests/lab/conftest.py), as test_image.py uses it
PUSHED = f"localhost:5050/opsctl:{opsctl_pkg.__version__}"
STATE = "/var/lib/opsctl/hello/lab/watch"


def gateway() -> str:
    """This machine's address on the lab's network: where the servers (and the watcher) reach it."""
    out = subprocess.run(["docker", "network", "inspect", NETWORK, "--format",
                          "{{range .IPAM.Config}}{{.Gateway}}{{end}}"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture(scope="module")
def project(images: HelloImages, ci_image: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Receiver]]:
    assert ci_image == LOCAL_IMAGE
    reset_fleet()
    opsctl("deploy", "v1", "-e", "lab", env=ENV, check=True)
    with notified_copy(tmp_path_factory.mktemp("watch-install"), gateway()) as (copy, receiver):
        yield copy, receiver
        opsctl("watch", "--uninstall", "-e", "lab", cwd=copy)


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_installed_watcher_alerts_from_the_fleet_and_uninstall_leaves_nothing(project: tuple[Path, Receiver]) -> None:
    path, receiver = project
    lab1, lab2 = sorted(hosts())[:2]
    installed = opsctl("watch", "--install", "-e", "lab", "--push", LOCAL_IMAGE, "--interval", "1", "--json",
                       cwd=path, env=ENV)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert json.loads(installed.stdout)["installed"]["host"] == lab1  # the primary, by default
    assert receiver.base not in installed.stdout + installed.stderr  # the webhook URL is not printed

    # One watcher, on lab1, restarted by Docker; its files private; no secret on its command line.
    assert ssh(lab1, "docker", "inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}",
               "hello-lab-watch").strip() == "unless-stopped"
    for other in sorted(hosts())[1:]:
        assert ssh(other, "docker", "ps", "-aq", "--filter", "name=hello-lab-watch").strip() == ""
    modes = ssh(lab1, "stat", "-c", "%a %n", STATE, *(f"{STATE}/{f}" for f in
                                                   ("id_ed25519", "opsctl.yml", "inventory.yml", "known_hosts")))
    assert [line.split()[0] for line in modes.splitlines()] == ["700", "600", "600", "600", "600"]
    args = ssh(lab1, "docker", "inspect", "--format", "{{json .Args}} {{json .Config.Env}}", "hello-lab-watch")
    assert receiver.base not in args and "PRIVATE KEY" not in args

    status = json.loads(opsctl("status", "-e", "lab", "--json", cwd=path, env=ENV, check=True).stdout)
    assert f"watch on {lab1}" in status["summary"]["text"]

    wait_for("the watcher's baseline", lambda: "baseline:" in ssh(lab1, "docker", "logs", "hello-lab-watch"), 120)
    web = ssh(lab2, "docker", "ps", "-q", "--filter", "label=opsctl.service=web").split()[0]
    ssh(lab2, "docker", "stop", "-t", "1", web)
    down = receiver.expect(f"DOWN: web on {lab2} (1/2 healthy", 10)
    assert down["event"] == "health" and down["ok"] is False
    ssh(lab2, "docker", "start", web)
    receiver.expect(f"recovered: web on {lab2} (2/2 healthy)", 10)

    lab3 = sorted(hosts())[2]
    docker("pause", container_name(lab3))
    try:
        frozen = receiver.expect(f"DOWN: host {lab3} (ssh: no answer within 2 s)", 10)
        assert f"host {lab3}" in frozen["detail"]
    finally:
        docker("unpause", container_name(lab3))
    receiver.expect(f"recovered: host {lab3}", 10)

    removed = opsctl("watch", "--uninstall", "-e", "lab", "--json", cwd=path, env=ENV)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert json.loads(removed.stdout)["removed_from"] == [lab1]
    for host in hosts():
        assert ssh(host, "docker", "ps", "-aq", "--filter", "name=hello-lab-watch").strip() == ""
        assert ssh(host, "sh", "-c", f"test -e {STATE} && echo present || echo absent").strip() == "absent"
        assert "opsctl-watch:" not in ssh(host, "cat", "/root/.ssh/authorized_keys")
        assert ssh(host, "docker", "images", "-q", PUSHED).strip() == ""
    status = json.loads(opsctl("status", "-e", "lab", "--json", cwd=path, env=ENV, check=True).stdout)
    assert "watch" not in status["summary"]["text"]
