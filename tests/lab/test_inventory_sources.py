"""Several inventory sources for one environment reach the playbooks: every lab server answers.

The lab's inventory is split as a team might keep it: lab1 in a YAML file, the others in an INI
file inside a directory whose group_vars/ carries the connection settings. opsctl reads them with
Ansible, and `opsctl status` runs a playbook over SSH on every host of both sources.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsctl.paths import lab_dir
from tests.lab.helpers import HELLO, hosts, opsctl

pytestmark = pytest.mark.lab


def test_status_over_two_inventory_sources(lab: Any, tmp_path: Path) -> None:
    servers = hosts()
    first, *rest = sorted(servers)
    shared = {k: v for k, v in servers[first].items() if k != "ansible_port"}
    (tmp_path / "first.yml").write_text(yaml.safe_dump({"servers": {"hosts": {first: servers[first]}}}))
    directory = tmp_path / "more"
    (directory / "group_vars").mkdir(parents=True)
    (directory / "group_vars" / "servers.yml").write_text(yaml.safe_dump(shared))
    (directory / "hosts.ini").write_text(
        "[servers]\n" + "".join(f"{name} ansible_port={servers[name]['ansible_port']}\n" for name in rest)
    )
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    config["environments"] = {"lab": config["environments"]["lab"]}  # the example's others are not here
    config["environments"]["lab"]["inventory"] = [str(tmp_path / "first.yml"), str(directory)]
    config["build"] = {"context": str(HELLO), "dockerfile": str(HELLO / "Dockerfile")}
    (tmp_path / "opsctl.yml").write_text(yaml.safe_dump(config))

    checked = opsctl("check", "--json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert sorted(json.loads(checked.stdout)["environments"]["lab"]) == sorted(servers)

    result = opsctl("status", "-e", "lab", "--json", cwd=tmp_path, env={"OPSCTL_LAB_DIR": str(lab_dir())})
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["unreachable"] == []
    assert sorted(data["hosts"]) == sorted(servers), data
