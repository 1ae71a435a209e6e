"""The config against its inventories (read by real Ansible): groups, sources, and `opsctl check`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsctl.cli import app
from opsctl.config.checks import check_environments, environment_hosts
from opsctl.config.loader import parse
from tests.unit.config_samples import VALID, line_of


def test_problems_per_environment(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.ini").write_text("[web]\nweb1\n")  # no 'workers' group
    config = parse(VALID, tmp_path / "opsctl.yml", {})  # staging's inventory file is missing
    reports, problems = check_environments(config)
    assert [r.name for r in reports] == ["production", "staging"]
    assert reports[0].hosts_by_service["web"] == ["web1"]
    assert reports[1].inventory is None
    groups_line = line_of(VALID, "groups: [workers]")
    inventory_line = line_of(VALID, "inventory: inventories/staging.yml")
    assert problems == [
        f"opsctl.yml:{inventory_line}: environments.staging.inventory: "
        f"{tmp_path / 'inventories' / 'staging.yml'}: no such file or directory",
        f"opsctl.yml:{groups_line}: services.worker.groups: group workers is not in the production "
        f"inventory ({tmp_path / 'inventories' / 'production.ini'})",
    ], problems


def test_an_empty_group_a_service_needs(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.ini").write_text("[web]\nweb1\n\n[workers]\n")
    (tmp_path / "inventories" / "staging.yml").write_text("all:\n  children:\n    web:\n    workers:\n")
    _, problems = check_environments(parse(VALID, tmp_path / "opsctl.yml", {}))
    groups_line = line_of(VALID, "groups: [workers]")
    assert f"opsctl.yml:{groups_line}: services.worker.groups: group workers of the production inventory" in (
        problems[0]
    ) and problems[0].endswith("has no hosts"), problems
    assert sum("has no hosts" in p for p in problems) == 2, problems  # and staging has none at all


def test_an_environment_with_several_sources(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "web.ini").write_text("[web]\nweb1\nweb2\n")
    (tmp_path / "inventories" / "workers.yml").write_text("workers:\n  hosts:\n    worker1:\n")
    (tmp_path / "inventories" / "staging.yml").write_text("web:\n  hosts:\n    s1:\nworkers:\n  hosts:\n    s1:\n")
    text = VALID.replace(
        "    inventory: inventories/production.ini\n",
        "    inventory:\n      - inventories/web.ini\n      - inventories/workers.yml\n",
    )
    config = parse(text, tmp_path / "opsctl.yml", {})
    assert config.environments["production"].inventory == ["inventories/web.ini", "inventories/workers.yml"]
    report = environment_hosts(config, "production")
    assert report.inventory is not None
    assert list(report.inventory.hosts) == ["web1", "web2", "worker1"]
    assert report.hosts_by_service["worker"] == ["worker1"]
    assert report.inventory.sources == config.inventory_paths("production")


def test_check_reads_the_issue_16_inventory(
    config_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_project(files={"inventories/production.ini": (
        "[web]\nweb[01:03].example.com ansible_user=deploy\nweb-extra.example.com:2222\n\n"
        "[workers]\nworker-[a:b].example.com\n\n[app:children]\nweb\nworkers\n\n"
        "[app:vars]\nansible_python_interpreter=/usr/bin/python3\n"
    )})
    monkeypatch.chdir(path.parent)
    result = CliRunner().invoke(app, ["check", "--json"])
    assert result.exit_code == 0, result.output
    assert "web-extra.example.com" in result.stdout and "worker-b.example.com" in result.stdout


def test_check_names_the_inventory_file_and_line(config_project: Callable[..., Path]) -> None:
    path = config_project(files={"inventories/staging.yml": "all:\n  hosts: [h1]\n"})
    result = subprocess.run([sys.executable, "-m", "opsctl", "check"], cwd=path.parent, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: inventories/staging.yml:2: all.hosts: expected a mapping of host names"), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""



def test_a_play_that_cannot_read_a_source_fails_instead_of_skipping_its_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsctl.deploy.runner import ansible_env

    monkeypatch.setenv("OPSCTL_HOME", str(tmp_path))

    assert ansible_env()["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] == "True"
