"""Read Ansible inventories (YAML or INI) into hosts and groups, without importing Ansible.

Planning needs only host names, their groups and a few host variables; Ansible itself reads the
same file again when it connects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from opsctl.errors import ConfigError
from opsctl.validate import host_problem

_RANGE = re.compile(r"\[(\d+):(\d+)\]")


@dataclass
class Inventory:
    path: Path
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> host vars
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> host names, in order

    def hosts_in(self, groups: list[str]) -> list[str]:
        """Hosts of any of the groups, in inventory order; every host when `groups` is empty."""
        if not groups or "all" in groups:
            return list(self.hosts)
        wanted = {h for g in groups for h in self.groups.get(g, [])}
        return [h for h in self.hosts if h in wanted]


def load_inventory(path: Path) -> Inventory:
    if not path.is_file():
        raise ConfigError([f"{path}: inventory file not found"])
    text = path.read_text(encoding="utf-8")
    inventory = Inventory(path=path)
    problems: list[str] = []
    if path.suffix in {".yml", ".yaml"} or text.lstrip().startswith(("all:", "---")):
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
        if not isinstance(data, dict):
            raise ConfigError([f"{path}: expected a mapping of groups"])
        children: dict[str, list[str]] = {}
        for group, body in data.items():
            _yaml_group(inventory, str(group), body, problems, children)
        _resolve_children(inventory, children)
    else:
        _ini(inventory, text, problems)
    for host in inventory.hosts:
        problem = host_problem(host)
        if problem:
            problems.append(f"{path}: {problem}")
    if problems:
        raise ConfigError(problems)
    return inventory


def _add(inventory: Inventory, group: str, host: str, host_vars: dict[str, Any]) -> None:
    inventory.hosts.setdefault(host, {}).update(host_vars)
    members = inventory.groups.setdefault(group, [])
    if host not in members:
        members.append(host)


def _yaml_group(
    inventory: Inventory, group: str, body: Any, problems: list[str], children: dict[str, list[str]]
) -> None:
    inventory.groups.setdefault(group, [])
    if body is None:
        return
    if not isinstance(body, dict):
        problems.append(f"{inventory.path}: group {group}: expected a mapping")
        return
    for host, host_vars in (body.get("hosts") or {}).items():
        for name in _expand(str(host)):
            _add(inventory, group, name, dict(host_vars or {}))
    for child, child_body in (body.get("children") or {}).items():
        _yaml_group(inventory, str(child), child_body, problems, children)
        children.setdefault(group, []).append(str(child))


def _ini(inventory: Inventory, text: str, problems: list[str]) -> None:
    section, kind = "ungrouped", "hosts"
    children: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith(";") else ""
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            section, _, suffix = name.partition(":")
            kind = suffix or "hosts"
            inventory.groups.setdefault(section, [])
            continue
        if kind == "hosts":
            host, *pairs = line.split()
            host_vars: dict[str, Any] = {}
            for pair in pairs:
                key, sep, value = pair.partition("=")
                if not sep:
                    problems.append(f"{inventory.path}:{number}: expected key=value, got {pair!r}")
                host_vars[key] = value
            for name in _expand(host):
                _add(inventory, section, name, host_vars)
        elif kind == "children":
            children.setdefault(section, []).append(line)
    _resolve_children(inventory, children)


def _resolve_children(inventory: Inventory, children: dict[str, list[str]]) -> None:
    """Give each group the hosts of all its descendants.

    Done once at the end because a group's children may be filled in later in the file (or, in
    YAML, be defined again at the top level), and Ansible does not care about that order.
    """

    def descendants(group: str, seen: frozenset[str]) -> list[str]:
        found: list[str] = []
        for kid in children.get(group, []):
            if kid in seen:  # a cycle; Ansible refuses it, we just stop walking
                continue
            for host in [*inventory.groups.get(kid, []), *descendants(kid, seen | {kid})]:
                if host not in found:
                    found.append(host)
        return found

    resolved = {group: descendants(group, frozenset({group})) for group in children}
    for group, hosts in resolved.items():
        for host in hosts:
            _add(inventory, group, host, {})


def _expand(host: str) -> list[str]:
    """Ansible's numeric ranges: web[01:03] -> web01, web02, web03."""
    match = _RANGE.search(host)
    if not match:
        return [host]
    start, end = match.group(1), match.group(2)
    width = len(start) if start.startswith("0") else 0
    return [
        host[: match.start()] + str(i).zfill(width) + host[match.end():]
        for i in range(int(start), int(end) + 1)
    ]
