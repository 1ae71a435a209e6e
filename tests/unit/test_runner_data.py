"""Playbook input: constants as extravars, everything else through the run's data file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from opsctl.deploy.runner import DATA_FILE, playbook_vars

HOSTILE = "{{ lookup('pipe','touch /tmp/x') }}"


def test_data_goes_to_a_private_file_and_only_its_path_is_an_extravar(tmp_path: Path) -> None:
    data = {"message": HOSTILE, "argv": ["echo", "{{.State.Status}}"]}
    extravars = playbook_vars(tmp_path, {"opsctl_targets": "h1,h2", "opsctl_serial": [1, 2]}, data)
    path = tmp_path / DATA_FILE
    assert json.loads(path.read_text()) == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert extravars["opsctl_data_file"] == str(path)
    assert extravars["opsctl_targets"] == "h1,h2"
    assert HOSTILE not in json.dumps(extravars)


@pytest.mark.parametrize("value", [HOSTILE, "a b", "{%", "50%", {"k": "v"}, ["a"], "it's"])
def test_anything_but_a_constant_is_refused_as_an_extravar(tmp_path: Path, value: object) -> None:
    with pytest.raises(ValueError, match="not an opsctl constant"):
        playbook_vars(tmp_path, {"opsctl_x": value}, {})


@pytest.mark.parametrize("value", ["/var/lib/opsctl/hello/lab", "h1,h2", "abc123", 3, 0.5, True, None, [1, 2]])
def test_constants_pass(tmp_path: Path, value: object) -> None:
    assert playbook_vars(tmp_path, {"opsctl_x": value}, {})["opsctl_x"] == value
