"""`opsctl bootstrap` on the lab's servers and, with --local, on this machine."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.lab.helpers import hosts, opsctl, ssh

pytestmark = pytest.mark.lab


def test_bootstrap_lab_hosts(lab: Any) -> None:
    for host in hosts():
        ssh(host, "rm", "-rf", "/var/lib/opsctl/hello/lab")
    result = opsctl("bootstrap", "-e", "lab")
    assert result.returncode == 0, result.stderr
    for host in hosts():
        assert f"{host}: ready (Docker " in result.stdout
        assert ssh(host, "stat", "-c", "%a", "/var/lib/opsctl/hello/lab/env").strip() == "700"
        assert "opsctl-hello-lab" in ssh(host, "docker", "network", "ls", "--format", "{{.Name}}")


def test_bootstrap_local_runs_the_same_playbook_here(lab: Any) -> None:
    result = opsctl("bootstrap", "--local", "-e", "devbox")
    try:
        assert result.returncode == 0, result.stderr
        assert "localhost: ready (Docker " in result.stdout
        inspect = subprocess.run(["docker", "network", "inspect", "opsctl-hello-devbox"], capture_output=True)
        assert inspect.returncode == 0
    finally:
        subprocess.run(["docker", "network", "rm", "opsctl-hello-devbox"], capture_output=True)
        subprocess.run(["rm", "-rf", "/var/lib/opsctl/hello/devbox"], capture_output=True)
    refused = opsctl("bootstrap", "--local", "-e", "Bad;Name")
    assert refused.returncode == 2 and "invalid name" in refused.stderr
