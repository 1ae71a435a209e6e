"""Inventories are read by Ansible itself (no mocks): every standard form, and errors in our words."""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path

import pytest

from opsctl.config.inventory import Inventory, load_inventory
from opsctl.errors import ConfigError


def write(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# The inventory from issue 16, which the old parser refused.
ISSUE_INI = """
    [web]
    web[01:03].example.com ansible_user=deploy
    web-extra.example.com:2222

    [workers]
    worker-[a:b].example.com

    [app:children]
    web
    workers

    [app:vars]
    ansible_python_interpreter=/usr/bin/python3
"""


def test_ini_ranges_ports_children_and_vars(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "production.ini", ISSUE_INI))
    web = ["web01.example.com", "web02.example.com", "web03.example.com", "web-extra.example.com"]
    workers = ["worker-a.example.com", "worker-b.example.com"]
    assert list(inventory.hosts) == [*web, *workers]
    assert inventory.groups["web"] == web
    assert inventory.groups["workers"] == workers
    assert inventory.groups["app"] == [*web, *workers]
    assert inventory.hosts_in(["workers"]) == workers
    assert inventory.hosts_in([]) == inventory.hosts_in(["all"]) == [*web, *workers]
    assert inventory.hosts_in(["nope"]) == []
    # host:port is Ansible's port, not part of the name; group vars reach every member.
    assert inventory.hosts["web-extra.example.com"]["ansible_port"] == 2222
    assert inventory.hosts["web02.example.com"]["ansible_user"] == "deploy"
    assert all(v["ansible_python_interpreter"] == "/usr/bin/python3" for v in inventory.hosts.values())
    assert inventory.address("web01.example.com") == "web01.example.com"
    assert inventory.sources == [tmp_path / "production.ini"] and inventory.path == inventory.sources[0]


def test_yaml_with_ranges_children_aliases_and_addresses(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, "staging.yml", """
        all:
          vars:
            ansible_user: deploy
          children:
            app:
              children:
                web:
                  hosts:
                    web[1:2]:
                      ansible_host: 10.0.0.5
                    "db-alias:2200":
                      ansible_host: db.internal
                workers:
                  hosts:
                    w1:
    """))
    assert list(inventory.hosts) == ["web1", "web2", "db-alias", "w1"]
    assert inventory.groups["app"] == ["web1", "web2", "db-alias", "w1"]
    assert inventory.address("web2") == "10.0.0.5"
    assert inventory.address("db-alias") == "db.internal"
    assert inventory.hosts["db-alias"]["ansible_port"] == 2200
    assert inventory.hosts["w1"] == {"ansible_user": "deploy"}


def test_a_directory_with_group_vars_and_host_vars(tmp_path: Path) -> None:
    base = tmp_path / "inventories" / "production"
    write(base, "hosts.ini", "[web]\nweb1\nweb2 ansible_host=10.0.0.2\n\n[db]\ndb1\n")
    write(base, "extra.yml", "all:\n  children:\n    db:\n      hosts:\n        db2:\n")
    write(base, "group_vars/web.yml", "opsctl_target_id: i-group\nhttp_port: 8080\n")
    write(base, "group_vars/all/main.yml", "ntp: pool.example.com\n")
    write(base, "host_vars/web1.yml", "opsctl_target_id: i-0123456789abcdef0\n")
    inventory = load_inventory(base)
    # Ansible reads a directory's files in name order: extra.yml before hosts.ini.
    assert list(inventory.hosts) == ["db2", "db1", "web1", "web2"]
    assert inventory.groups["db"] == ["db2", "db1"]
    assert inventory.hosts["web1"]["opsctl_target_id"] == "i-0123456789abcdef0"  # host_vars wins
    assert inventory.hosts["web2"]["opsctl_target_id"] == "i-group"
    assert inventory.hosts["web2"]["http_port"] == 8080
    assert inventory.hosts["db2"]["ntp"] == "pool.example.com"
    assert inventory.origins["db2"].endswith("extra.yml")


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


SCRIPT = '''import json, sys
if sys.argv[1:] == ["--list"]:
    print(json.dumps({
        "web": {"hosts": ["app1.example.com", "app2.example.com"], "vars": {"tier": "web"}},
        "_meta": {"hostvars": {"app1.example.com": {"opsctl_target_id": "i-1"}}},
    }))
else:
    print("{}")
'''


def test_an_executable_script_printing_json(tmp_path: Path) -> None:
    inventory = load_inventory(_script(tmp_path / "inventory.py", SCRIPT))
    assert list(inventory.hosts) == ["app1.example.com", "app2.example.com"]
    assert inventory.hosts["app1.example.com"] == {"opsctl_target_id": "i-1", "tier": "web"}
    assert inventory.groups["web"] == ["app1.example.com", "app2.example.com"]


def test_several_sources_for_one_environment(tmp_path: Path) -> None:
    ini = write(tmp_path, "static.ini", "[workers]\nworker1\n\n[web]\nweb1\n")
    script = _script(tmp_path / "dynamic.py", SCRIPT)
    inventory = load_inventory([ini, script])
    assert list(inventory.hosts) == ["worker1", "web1", "app1.example.com", "app2.example.com"]
    assert inventory.groups["web"] == ["web1", "app1.example.com", "app2.example.com"]
    assert inventory.sources == [ini, script]
    assert inventory.describe().count(",") == 1


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        # Issue 9: shapes that used to give tracebacks.
        ("hosts-list.yml", "all:\n  hosts: [h1]\n",
         "hosts-list.yml:2: all.hosts: expected a mapping of host names, got a list"),
        ("hosts-int.yml", "all:\n  hosts: 5\n", "hosts-int.yml:2: all.hosts: expected a mapping of host names"),
        ("children.yml", "all:\n  children: 5\n",
         "children.yml:2: all.children: expected a mapping of group names, got an integer"),
        ("host-vars.yml", "all:\n  hosts:\n    h1: [1, 2]\n",
         "host-vars.yml:3: all.hosts.h1: expected a mapping of host variables, got a list"),
        ("group.yml", "web: [a, b]\n", "group.yml:1: web: expected a group"),
        ("typo.yml", "all:\n  hots:\n    web1:\n", "typo.yml:2: all.hots: unknown key"),
        ("list.yml", "- a\n", "list.yml:1: expected a mapping of group names"),
        ("syntax.yml", "all: [\n", "syntax.yml:2: invalid YAML"),
        ("self.yml", "all:\n  vars:\n    x: &a [*a]\n", "self.yml:3: invalid YAML: an alias refers to"),
        # Ansible reads these, but the names or addresses must not reach a command line.
        ("bad.ini", "[web]\n-oProxyCommand=x\n", "bad.ini: host '-oProxyCommand=x': invalid host name"),
        ("subst.ini", "[web]\n$(id)\n", "subst.ini: host '$(id)': invalid host name"),
        ("space.yml", "all:\n  hosts:\n    'a b':\n", "space.yml: host 'a b': invalid host name"),
        ("address.ini", "[web]\nweb1 ansible_host=''\n",
         "address.ini: host 'web1': ansible_host '' is not a usable address"),
        ("address.yml", "all:\n  hosts:\n    web1:\n      ansible_host: 'a;b'\n",
         "address.yml: host 'web1': ansible_host 'a;b' is not a usable address"),
        ("port.yml", "all:\n  hosts:\n    web1:\n      ansible_port: 70000\n",
         "port.yml: host 'web1': ansible_port 70000 is not a port"),
        # Ansible's own INI errors, with the line it stopped at.
        ("pairs.ini", "[web]\nweb1 ansible_host\n", "pairs.ini:2: Expected key=value"),
    ],
)
def test_bad_inventories_are_one_line_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(Path(name))
    assert len(info.value.problems) == 1, info.value.problems
    problem = info.value.problems[0]
    assert problem.startswith(expected), problem
    assert "\n" not in problem and "Traceback" not in problem and "_AnsibleTagged" not in problem


def test_an_alias_bomb_in_group_vars_is_refused_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    levels = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=False):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    write(tmp_path, "inv/hosts.ini", "[web]\nweb1\n")
    write(tmp_path, "inv/group_vars/web.yml", "\n".join(levels) + "\n")
    with pytest.raises(ConfigError, match="variables of host web1 are too large"):
        load_inventory(Path("inv"))


def test_unreadable_script_output_is_our_error(tmp_path: Path) -> None:
    script = _script(tmp_path / "broken.py", "print('not json')\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(script)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"{script}: "), info.value.problems


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.ini: no such inventory file or directory"):
        load_inventory(tmp_path / "nope.ini")


def test_inventory_keeps_its_simple_interface() -> None:
    inventory = Inventory(path=Path("inv.ini"), hosts={"a": {}, "b": {"ansible_host": "10.0.0.2"}},
                          groups={"web": ["b"]})
    assert inventory.sources == [Path("inv.ini")]
    assert inventory.hosts_in(["web"]) == ["b"]
    assert inventory.address("b") == "10.0.0.2" and inventory.address("a") == "a"


def test_a_slow_inventory_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.config import inventory as module

    monkeypatch.setattr(module, "SLOW_NOTICE", 0.01)  # Ansible's own start-up takes longer than this
    told: list[str] = []
    pending = module.PendingInventory([write(tmp_path, "hosts.ini", "[web]\nweb1\n")])
    assert list(pending.result(told.append).hosts) == ["web1"]
    assert told == ["Ansible is still reading inventory " + str(tmp_path / "hosts.ini") + " ..."]
