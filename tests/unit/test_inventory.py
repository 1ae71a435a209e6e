"""Ansible inventories (INI and YAML) read without Ansible: hosts, groups, children, ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_samples import dedent

from opsctl.config.inventory import load_inventory
from opsctl.errors import ConfigError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


# (file name, text, expected hosts in order, expected groups)
INVENTORIES = [
    (
        "ranges.ini",
        """
        [web]
        web[01:03] ansible_host=127.0.0.1 ansible_port=2222
        lb1
        """,
        None,
        None,
    ),
    (
        "plain.ini",
        """
        # comment
        ; comment
        solo

        [web]
        web1 ansible_host=10.0.0.1   # trailing comment
        web2

        [web:vars]
        http_port=80

        [db]
        db1
        """,
        ["solo", "web1", "web2", "db1"],
        {"ungrouped": ["solo"], "web": ["web1", "web2"], "db": ["db1"]},
    ),
    (
        "ranges2.ini",
        """
        [web]
        web[01:03]
        app[8:10].example.com
        """,
        ["web01", "web02", "web03", "app8.example.com", "app9.example.com", "app10.example.com"],
        {"web": ["web01", "web02", "web03", "app8.example.com", "app9.example.com", "app10.example.com"]},
    ),
    (
        "children.ini",
        """
        [top:children]
        app

        [app:children]
        web
        workers

        [web]
        web1

        [workers]
        w1
        """,
        ["web1", "w1"],
        {"top": ["web1", "w1"], "app": ["web1", "w1"], "web": ["web1"], "workers": ["w1"]},
    ),
    (
        "children.yml",
        """
        all:
          children:
            app:
              children:
                web:
                  hosts:
                    web[1:2]:
                      ansible_host: 127.0.0.1
                db:
            db:
              hosts:
                db1:
        """,
        ["web1", "web2", "db1"],
        {"all": ["web1", "web2", "db1"], "app": ["web1", "web2", "db1"], "web": ["web1", "web2"], "db": ["db1"]},
    ),
    (
        "no-suffix",
        """
        ---
        all:
          hosts:
            one:
        """,
        ["one"],
        {"all": ["one"]},
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "hosts", "groups"), [i for i in INVENTORIES if i[2] is not None], ids=lambda v: str(v)[:20]
)
def test_inventory_hosts_and_groups(
    tmp_path: Path, name: str, text: str, hosts: list[str], groups: dict[str, list[str]]
) -> None:
    inventory = load_inventory(write(tmp_path, name, text))
    assert list(inventory.hosts) == hosts
    assert inventory.groups == groups


def test_host_vars_are_kept(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "i.ini", INVENTORIES[0][1]))
    assert list(inventory.hosts) == ["web01", "web02", "web03", "lb1"]
    assert inventory.hosts["web02"] == {"ansible_host": "127.0.0.1", "ansible_port": "2222"}
    yml = load_inventory(write(tmp_path, "c.yml", INVENTORIES[4][1]))
    assert yml.hosts["web2"] == {"ansible_host": "127.0.0.1"}


def test_hosts_in_groups_keeps_inventory_order(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "p.ini", INVENTORIES[1][1]))
    assert inventory.hosts_in(["db", "web"]) == ["web1", "web2", "db1"]
    assert inventory.hosts_in([]) == ["solo", "web1", "web2", "db1"]
    assert inventory.hosts_in(["all"]) == ["solo", "web1", "web2", "db1"]
    assert inventory.hosts_in(["nope"]) == []


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.ini", "[web]\nweb;rm -rf\n", "invalid host name 'web;rm'"),
        ("bad2.ini", "[web]\n-oProxyCommand=x\n", "invalid host name '-oProxyCommand=x'"),
        ("bad3.ini", "[web]\n$(id)\n", "invalid host name '$(id)'"),
        ("bad.yml", "all:\n  hosts:\n    'a b':\n", "invalid host name 'a b'"),
        ("pairs.ini", "[web]\nweb1 ansible_host\n", "expected key=value, got 'ansible_host'"),
        ("group.yml", "web: [a, b]\n", "group web: expected a mapping"),
        ("list.yml", "- a\n", "expected a mapping of groups"),
        ("syntax.yml", "all: [\n", "invalid YAML"),
    ],
)
def test_bad_inventories_are_refused(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, name, text))
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_missing_inventory_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inventory file not found"):
        load_inventory(tmp_path / "nope.ini")


def test_check_environments_reports_inventory_problems_per_environment(tmp_path: Path) -> None:
    from config_samples import VALID

    from opsctl.config.checks import check_environments
    from opsctl.config.loader import parse

    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.ini").write_text("[web]\nweb1\n")  # no 'workers' group
    config = parse(VALID, tmp_path / "opsctl.yml", {})  # staging's inventory file is missing
    reports, problems = check_environments(config)
    assert [r.name for r in reports] == ["production", "staging"]
    assert reports[0].hosts_by_service["web"] == ["web1"]
    assert reports[0].hosts_by_service["worker"] == []
    assert reports[1].inventory is None
    from config_samples import line_of

    groups_line = line_of(VALID, "groups: [workers]")
    inventory_line = line_of(VALID, "inventory: inventories/staging.yml")
    assert problems[0].startswith(
        f"opsctl.yml:{groups_line}: services.worker.groups: group(s) workers not in the production inventory"
    ), problems
    assert problems[1].startswith(f"opsctl.yml:{inventory_line}: environments.staging.inventory: "), problems
    assert problems[1].endswith("inventory file not found")
    assert len(problems) == 2, problems


def test_check_environments_refuses_an_empty_inventory(tmp_path: Path) -> None:
    from config_samples import VALID

    from opsctl.config.checks import check_environments
    from opsctl.config.loader import parse

    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.ini").write_text("[web]\n[workers]\n")
    (tmp_path / "inventories" / "staging.yml").write_text("all:\n  children:\n    web:\n    workers:\n")
    _, problems = check_environments(parse(VALID, tmp_path / "opsctl.yml", {}))
    assert sum("has no hosts" in p for p in problems) == 2, problems
