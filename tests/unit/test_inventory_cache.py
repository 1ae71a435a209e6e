"""The inventory cache: only static files are cached, the key covers what Ansible reads, and a hit
starts no child (Ansible itself reads the inventory on every miss: no mocks there)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsctl.config import inventory_cache
from opsctl.config.inventory import load_inventory
from opsctl.errors import ConfigError

INI = "[web]\nweb1 ansible_host=10.0.0.1\nweb2\n\n[db]\ndb1\n"
YAML_HOSTS = "all:\n  children:\n    web:\n      hosts:\n        web1:\n          ansible_port: 2222\n"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory, with opsctl's state, HOME and Ansible's system places all under tmp_path."""
    monkeypatch.setenv("OPSCTL_HOME", str(tmp_path / "opsctl-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(inventory_cache.DISABLE, raising=False)
    for name in list(os.environ):
        if name.startswith("ANSIBLE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(inventory_cache, "SYSTEM_CONFIG", tmp_path / "etc" / "ansible.cfg")
    monkeypatch.setattr(inventory_cache, "SYSTEM_PLUGIN_DIRS", ())
    (tmp_path / "home").mkdir()
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield cwd


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def key(sources: list[Path], cwd: Path, env: dict[str, str] | None = None) -> str | None:
    return inventory_cache.cache_key(sources, env or {}, cwd)


class Children:
    """Counts the inventory children started; `refuse()` makes starting one fail the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = 0
        self.refused = False
        self._real = subprocess.Popen
        monkeypatch.setattr(subprocess, "Popen", self._popen)  # what inventory.py starts the child with

    def _popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        if self.refused:
            raise AssertionError("the inventory child was started on a cache hit")
        self.started += 1
        return self._real(*args, **kwargs)

    def refuse(self) -> None:
        self.refused = True


# Eligibility


@pytest.mark.parametrize(
    ("name", "text", "static"),
    [
        ("hosts.ini", INI, True),
        ("hosts", INI, True),  # no extension: Ansible tries YAML, then INI
        ("hosts.yml", YAML_HOSTS, True),
        ("tagged.yml", "all:\n  hosts:\n    web1:\n      motd: !unsafe '{{ x }}'\n", True),
        ("aws.aws_ec2.yml", "plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n", False),
        ("constructed.yml", "plugin: constructed\nstrict: true\n", False),
        ("flow.yaml", "{plugin: constructed}\n", False),
        ("broken.yml", "all: [\n", False),  # a YAML name Ansible's plugins might still claim
        ("shebang.ini", f"#!{sys.executable}\nprint('{{}}')\n", False),  # the script plugin tries it
        ("vaulted.yml", "all:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3131\n", False),
    ],
)
def test_only_static_files_are_eligible(work: Path, name: str, text: str, static: bool) -> None:
    assert inventory_cache.is_static(write(work / name, text)) is static


def test_scripts_directories_and_missing_files_are_not_eligible(work: Path) -> None:
    script = write(work / "inventory.py", "import json\nprint(json.dumps({}))\n")  # no shebang
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    directory = work / "inventories"
    write(directory / "hosts.ini", INI)
    assert not inventory_cache.is_static(script)
    assert not inventory_cache.is_static(directory)
    assert not inventory_cache.is_static(work / "missing.ini")
    assert key([script], work) is None
    assert key([directory], work) is None
    # One dynamic source makes the whole environment uncacheable.
    assert key([directory / "hosts.ini", script], work) is None


# The key


def test_the_key_follows_what_ansible_reads(work: Path) -> None:
    source = write(work / "inventories" / "production.ini", INI)
    first = key([source], work)
    assert first is not None and len(first) == 64
    assert key([source], work) == first

    keys = {first}

    def changed() -> str:
        new = key([source], work)
        assert new is not None and new not in keys
        keys.add(new)
        return new

    write(source, INI + "db2\n")
    changed()
    write(work / "inventories" / "group_vars" / "web.yml", "http_port: 8080\n")  # added
    changed()
    write(work / "inventories" / "group_vars" / "web.yml", "http_port: 8081\n")  # edited
    changed()
    write(work / "inventories" / "host_vars" / "web1" / "main.yml", "opsctl_target_id: i-1\n")  # nested
    changed()
    # The current directory is Ansible's base directory: its group_vars/ apply too.
    write(work / "group_vars" / "all.yml", "ntp: pool.example.com\n")
    changed()
    write(work / "ansible.cfg", "[defaults]\nforks = 5\n")
    changed()
    write(work / "ansible.cfg", "[defaults]\nforks = 10\n")
    changed()
    write(work.parent / "home" / ".ansible.cfg", "[defaults]\nforks = 3\n")
    changed()


def test_the_key_follows_ansible_variables_and_nothing_else(work: Path) -> None:
    source = write(work / "hosts.ini", INI)
    base = key([source], work, {"PATH": "/usr/bin"})
    assert key([source], work, {"PATH": "/bin", "FOO": "1", "SECRET": "x"}) == base
    precedence = key([source], work, {"ANSIBLE_PRECEDENCE": "all_inventory"})
    assert precedence is not None and precedence != base
    assert key([source], work, {"ANSIBLE_PRECEDENCE": "groups_inventory"}) not in (base, precedence)


def test_the_key_follows_the_config_file_named_by_ansible_config(work: Path) -> None:
    source = write(work / "hosts.ini", INI)
    config = write(work.parent / "elsewhere" / "ansible.cfg", "[defaults]\nforks = 5\n")
    env = {"ANSIBLE_CONFIG": str(config)}
    first = key([source], work, env)
    write(config, "[defaults]\nforks = 6\n")
    assert key([source], work, env) not in (None, first)
    # A directory means the ansible.cfg inside it, as Ansible reads it.
    assert key([source], work, {"ANSIBLE_CONFIG": str(config.parent)}) is not None
    assert inventory_cache.config_files({"ANSIBLE_CONFIG": str(config.parent)}, work) == [config]


def test_a_source_is_keyed_by_the_path_ansible_sees(work: Path) -> None:
    # Ansible does not follow a link to find group_vars/ or to name a host's origin.
    target = write(work / "real" / "hosts.ini", INI)
    link = work / "linked" / "hosts.ini"
    link.parent.mkdir()
    link.symlink_to(target)
    assert key([target], work) != key([link], work)
    assert key([Path("real/hosts.ini")], work) == key([target], work)


@pytest.mark.parametrize(
    ("where", "text"),
    [
        ("ansible.cfg", "[inventory]\nenable_plugins = host_list, my.own.plugin\n"),
        ("ansible.cfg", "[defaults]\nvars_plugins = ./plugins/vars\n"),
        ("ansible.cfg", "[defaults]\nvars_plugins_enabled = host_group_vars, community.general.sops\n"),
        ("ansible.cfg", "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = /tmp/facts\n"),
        ("ansible.cfg", "not an ini file\n"),
        ("home/.ansible/plugins/vars/extra.py", "# runs without being enabled\n"),
        ("home/.ansible/plugins/inventory/ini.py", "# would shadow the built-in ini plugin\n"),
        ("inventories/group_vars/all.yml", "$ANSIBLE_VAULT;1.1;AES256\n3131\n"),
    ],
)
def test_no_key_when_ansible_would_read_what_the_key_cannot_see(work: Path, where: str, text: str) -> None:
    source = write(work / "inventories" / "hosts.ini", INI)
    assert key([source], work) is not None
    write(work.parent / where if where.startswith("home/") else work / where, text)
    assert key([source], work) is None


@pytest.mark.parametrize(
    "env",
    [
        {"ANSIBLE_INVENTORY_ENABLED": "ini,my.own.plugin"},
        {"ANSIBLE_VARS_PLUGINS": "/opt/vars"},
        {"ANSIBLE_CACHE_PLUGIN": "jsonfile"},
    ],
)
def test_no_key_when_the_environment_brings_in_plugins_or_facts(work: Path, env: dict[str, str]) -> None:
    source = write(work / "hosts.ini", INI)
    assert key([source], work, env) is None


def test_known_settings_keep_the_cache(work: Path) -> None:
    source = write(work / "hosts.ini", INI)
    write(work / "ansible.cfg", "[inventory]\nenable_plugins = ini, yaml, amazon.aws.aws_ec2\n"
                                "[defaults]\nfact_caching = memory\n")
    assert key([source], work, {"ANSIBLE_VARS_ENABLED": "host_group_vars"}) is not None


# Loading through the cache


def test_a_second_load_starts_no_child_and_an_edit_is_seen(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(work / "inventories" / "production.ini", INI)
    write(work / "inventories" / "group_vars" / "web.yml", "http_port: 8080\n")
    children = Children(monkeypatch)

    first = load_inventory(source)
    assert children.started == 1
    children.refuse()
    second = load_inventory(source)
    assert second.hosts == first.hosts and second.groups == first.groups
    assert second.origins == first.origins and second.sources == first.sources
    assert second.hosts["web1"] == {"ansible_host": "10.0.0.1", "http_port": 8080}

    children.refused = False
    write(source, INI + "\n[workers]\nworker1\n")
    third = load_inventory(source)
    assert children.started == 2
    assert third.groups["workers"] == ["worker1"]
    write(work / "inventories" / "group_vars" / "web.yml", "http_port: 9090\n")
    assert load_inventory(source).hosts["web1"]["http_port"] == 9090
    assert children.started == 3


def test_cache_files_are_private(work: Path) -> None:
    load_inventory(write(work / "hosts.ini", INI))
    directory = work.parent / "opsctl-home" / "inventory-cache"
    entries = list(directory.iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".json"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(entries[0].stat().st_mode) == 0o600


def _entry(work: Path) -> Path:
    (entry,) = (work.parent / "opsctl-home" / "inventory-cache").glob("*.json")
    return entry


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"hosts": 5, "groups": {}}).encode(),
        json.dumps({"hosts": [["web1", {}, ""]], "groups": {}, "error": "x"}).encode(),
        # Well-formed, but not something the child could have printed for a valid inventory.
        json.dumps({"hosts": [["$(id)", {}, ""]], "groups": {"all": ["$(id)"]}, "warnings": []}).encode(),
    ],
)
def test_a_corrupt_cache_file_is_ignored(work: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    source = write(work / "hosts.ini", INI)
    children = Children(monkeypatch)
    expected = load_inventory(source)
    _entry(work).write_bytes(content)
    again = load_inventory(source)
    assert children.started == 2
    assert again.hosts == expected.hosts and again.groups == expected.groups
    # The child's answer replaced the bad entry.
    children.refuse()
    assert load_inventory(source).hosts == expected.hosts


def test_a_cache_file_someone_else_could_write_is_ignored(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(work / "hosts.ini", INI)
    children = Children(monkeypatch)
    load_inventory(source)
    _entry(work).chmod(0o666)
    load_inventory(source)
    assert children.started == 2


def test_the_switch_turns_the_cache_off(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(work / "hosts.ini", INI)
    children = Children(monkeypatch)
    load_inventory(source)  # cached
    monkeypatch.setenv(inventory_cache.DISABLE, "1")
    load_inventory(source)
    load_inventory(source)
    assert children.started == 3


def test_nothing_is_stored_when_the_switch_is_on(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(inventory_cache.DISABLE, "1")
    load_inventory(write(work / "hosts.ini", INI))
    assert not (work.parent / "opsctl-home" / "inventory-cache").exists()


def test_failures_and_dynamic_sources_are_never_cached(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    children = Children(monkeypatch)
    bad = write(work / "bad.ini", "[web]\nweb1 ansible_host\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="Expected key=value"):
            load_inventory(bad)
    script = write(work / "inventory.py", f"#!{sys.executable}\nimport json\n"
                   "print(json.dumps({'web': {'hosts': ['app1']}, '_meta': {'hostvars': {}}}))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    for _ in range(2):
        assert list(load_inventory(script).hosts) == ["app1"]
    assert children.started == 4
    assert not (work.parent / "opsctl-home" / "inventory-cache").exists()


def test_the_cache_keeps_the_newest_entries(work: Path) -> None:
    data: dict[str, Any] = {"hosts": [["web1", {}, ""]], "groups": {"all": ["web1"]}, "warnings": []}
    keys = [f"{n:064x}" for n in range(inventory_cache.MAX_ENTRIES + 5)]
    for age, name in enumerate(keys):
        inventory_cache.store(name, data)
        entry = work.parent / "opsctl-home" / "inventory-cache" / f"{name}.json"
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))
    kept = sorted(p.stem for p in (work.parent / "opsctl-home" / "inventory-cache").glob("*.json"))
    assert kept == keys[5:]
    assert inventory_cache.load(keys[-1]) == data
    assert inventory_cache.load("../../etc/passwd") is None
