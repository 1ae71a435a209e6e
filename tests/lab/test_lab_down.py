"""`lab down` removes every container, network, volume, process and file the lab made.

This runs inside the session that shares one lab, so it puts the lab back afterwards with the
same SSH key and registry password (what other tests may have read): it runs after test_lab.py,
and pytest keeps each module's tests together, so no module-scoped state of another module is
cut in the middle.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from opsctl.lab import aws, fleet, names, state
from opsctl.lab.state import LabState

pytestmark = pytest.mark.lab

KEPT = (state.KEY_FILE, state.PUBKEY_FILE, state.SECRETS_FILE)


def docker_lines(*args: str) -> list[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_down_leaves_nothing_then_up_brings_the_same_lab_back(lab: LabState, tmp_path: Path) -> None:
    for name in KEPT:
        shutil.copy2(lab.directory / name, tmp_path / name)
    moto_pid = aws.running_pid(lab.directory)
    assert moto_pid is not None
    try:
        fleet.down()
        assert docker_lines("ps", "-aq", "--filter", "label=opsctl.lab=1") == []
        networks = docker_lines("network", "ls", "--format", "{{.Name}}")
        assert names.NETWORK not in networks
        assert docker_lines("network", "ls", "-q", "--filter", "label=opsctl.lab=1") == []
        assert docker_lines("volume", "ls", "-q", "--filter", "label=opsctl.lab=1") == []
        assert not Path(f"/proc/{moto_pid}").exists() or _is_zombie(moto_pid)
        leftovers = [n for n in state.ALL_FILES if (lab.directory / n).exists()]
        assert leftovers == []
        assert fleet.status().hosts == []
    finally:
        state.ensure_dir(lab.directory)
        for name in KEPT:
            shutil.copy2(tmp_path / name, lab.directory / name)
        back = fleet.up(len(lab.hosts))
    assert back.up and [h.name for h in back.hosts] == [h.name for h in lab.hosts]


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_up_starts_cleanly_over_the_leftovers_of_a_killed_lab(lab: LabState) -> None:
    """What a killed run (or a dockerd that went away) leaves: exited containers, the network,
    a stale moto pid file. `up` replaces them and leaves exactly one lab."""
    import os
    import signal

    from opsctl.lab import probes
    from opsctl.lab.state import PASSWORD_VAR, parse_secrets

    before = docker_lines("ps", "-aq", "--filter", "label=opsctl.lab=1")
    subprocess.run(["docker", "kill", *before], capture_output=True, check=True)
    moto_pid = aws.running_pid(lab.directory)
    assert moto_pid is not None
    os.kill(moto_pid, signal.SIGKILL)
    assert fleet.status().up is False

    back = fleet.up(len(lab.hosts))
    assert back.up
    after = docker_lines("ps", "-aq", "--filter", "label=opsctl.lab=1")
    assert len(after) == len(before) and not set(after) & set(before)
    assert docker_lines("ps", "-aq", "--filter", "label=opsctl.lab=1", "--filter", "status=exited") == []
    for host in back.hosts:
        assert probes.engine_id(lab.ssh_key_path, host.ssh_port)
    password = parse_secrets(lab.secrets_env_path.read_text())[PASSWORD_VAR]
    assert probes.registry_digest(names.PROXY_IMAGE, (names.REGISTRY_USER, password))
