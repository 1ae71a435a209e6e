"""Ansible's inventory complaints, reworded as one opsctl line naming the file (and line).

Ansible tries every inventory plugin on a source and, when none can read it, prints each plugin's
failure. Only one of them is about what the user meant (the YAML plugin's for a .yml file, the
script plugin's for an executable, ...); that one is kept. For YAML inventories the shape is checked
again with line numbers, since Ansible's YAML plugin names the group but not the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

YAML_SUFFIXES = {".yml", ".yaml", ".json"}
_SECTIONS = {"hosts": "host names", "children": "group names", "vars": "variables"}
_TAGGED = re.compile(r"\"?<class '(?:[\w.]+\.)?_?(?:AnsibleTagged)?(\w+)'>\"?")
_KINDS = {"list": "a list", "dict": "a mapping", "str": "a string", "int": "an integer",
          "float": "a number", "bool": "true/false", "NoneType": "nothing"}


def describe_failure(sources: list[Path], data: dict[str, Any]) -> str:
    """One line for a failed read (`error` and `failures`) or a skipped part (`warning`)."""
    from opsctl.config.inventory import shown

    if "warning" in data:
        source = str(data["warning"].get("source") or sources[0])
        return _yaml_shape(Path(source)) or f"{shown(source)}: {clean(data['warning']['message'])}"
    failures: list[dict[str, Any]] = data.get("failures") or []
    error = str(data.get("error", "Ansible could not read the inventory"))
    source = (failures[0]["source"] if failures else "") or str(data.get("source") or "")
    match = re.search(r"parse inventory source (.+)$", error)
    if not source and match:
        source = match.group(1).strip()
    if not source:
        return f"{', '.join(shown(p) for p in sources)}: {clean(error)}"
    path = Path(source)
    chosen = _relevant(path, failures)
    if chosen is not None and chosen["plugin"] == "yaml":
        precise = _yaml_shape(path)
        if precise:
            return precise
    message = clean(chosen["message"]) if chosen else clean(error)
    line = f":{chosen['line']}" if chosen and chosen.get("line") else ""
    return f"{shown(source)}{line}: {message}"


def clean(message: str) -> str:
    text = _TAGGED.sub(lambda m: _KINDS.get(m.group(1).removeprefix("Ansible"), m.group(1)), message)
    text = text.replace("Failed to parse inventory: ", "")
    return " ".join(text.split())


def _relevant(path: Path, failures: list[dict[str, Any]]) -> dict[str, Any] | None:
    by_plugin = {f["plugin"]: f for f in failures}
    if path.is_file() and os.access(path, os.X_OK):
        wanted = ["script"]
    elif path.suffix in YAML_SUFFIXES:
        yaml_failure = by_plugin.get("yaml")
        plugin_config = yaml_failure is not None and "Plugin configuration" in yaml_failure["message"]
        wanted = ["auto", "yaml"] if plugin_config else ["yaml", "auto"]
    elif path.suffix == ".toml":
        wanted = ["toml"]
    else:
        wanted = ["ini"]
    for name in wanted:
        if name in by_plugin:
            return by_plugin[name]
    return failures[0] if failures else None


def _yaml_shape(path: Path) -> str | None:
    """The first thing in a YAML inventory that Ansible's YAML plugin refuses or skips, with its line."""
    from opsctl.config.inventory import shown
    from opsctl.config.yaml_lines import Path_, dotted, load_yaml

    if path.suffix not in YAML_SUFFIXES or not path.is_file():
        return None
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8"), {})
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 1
        return f"{shown(path)}:{line}: invalid YAML: {exc.problem}"
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    found: list[tuple[Path_, str]] = []
    if not isinstance(loaded.data, dict):
        found.append(((), f"expected a mapping of group names, got {_kind(loaded.data)}"))
    elif "plugin" in loaded.data:
        return None
    else:
        for group, body in loaded.data.items():
            _group((group,), body, found)
    if not found:
        return None
    where, message = found[0]
    keys = dotted(where)
    return f"{shown(path)}:{loaded.line_of(where)}: {keys + ': ' if keys else ''}{message}"


def _group(where: tuple[str | int, ...], body: Any, found: list[tuple[Any, str]]) -> None:
    if body is None:
        return
    if not isinstance(body, dict):
        found.append((where, f"expected a group (a mapping with hosts, children or vars), got {_kind(body)}"))
        return
    for key, value in body.items():
        here = (*where, key)
        if key not in _SECTIONS:
            found.append((here, "unknown key (a group has hosts, children and vars)"))
        elif value is None or (isinstance(value, str) and key != "vars"):
            continue
        elif not isinstance(value, dict):
            found.append((here, f"expected a mapping of {_SECTIONS[key]}, got {_kind(value)}"))
        elif key == "hosts":
            for host, host_vars in value.items():
                if host_vars is not None and not isinstance(host_vars, dict):
                    found.append(((*here, host), f"expected a mapping of host variables, got {_kind(host_vars)}"))
        elif key == "children":
            for child, child_body in value.items():
                _group((*here, child), child_body, found)


def _kind(value: Any) -> str:
    return f"{_KINDS.get(type(value).__name__, type(value).__name__)} ({value!r})"[:80]
