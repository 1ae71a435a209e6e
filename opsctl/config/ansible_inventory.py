"""Ansible reads the inventory: run as `python -m opsctl.config.ansible_inventory SOURCE...`.

opsctl starts this in a child process (see opsctl.config.inventory) so that Ansible's import time,
its global state and its warnings stay out of opsctl's own process and terminal. It prints one JSON
object on stdout: the hosts in Ansible's order with their variables (group_vars/ and host_vars/
included, exactly as a play sees them), the groups, and the warnings Ansible raised; or an error.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# Variables of one host, flattened to JSON: a YAML alias bomb in group_vars/ would otherwise expand
# exponentially here, and a self-referencing alias would never end.
MAX_NODES = 100_000
MAX_DEPTH = 64


_LOADER_READY: list[bool] = []  # init_plugin_loader may run once per process


class TooLarge(Exception):
    pass


def plain(value: Any, budget: list[int], depth: int = 0) -> Any:
    """JSON-safe copy of an inventory value (Ansible's tagged types become plain ones), bounded."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise TooLarge
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, budget, depth + 1) for v in value]
    return str(value)


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).strip()


def _line(exc: BaseException) -> int | None:
    chain: BaseException | None = exc
    for _ in range(10):  # the plugin re-raises; the line is on a cause
        if chain is None:
            break
        line = getattr(chain, "opsctl_line", None)
        if isinstance(line, int) and line > 0:
            return line
        chain = chain.__cause__ or chain.__context__
    return None


def _note_ini_lines() -> None:
    """The INI plugin knows the line it stopped at but does not say it: keep it on the error."""
    from ansible.plugins.inventory import ini  # type: ignore[import-untyped]

    original = ini.InventoryModule._raise_error

    def raise_error(self: Any, message: str) -> None:
        try:
            original(self, message)
        except Exception as exc:
            exc.opsctl_line = getattr(getattr(self, "_origin", None), "line_num", None)  # type: ignore[attr-defined]
            raise

    ini.InventoryModule._raise_error = raise_error


def _quiet_display(current: list[str], warnings: list[dict[str, str]], failures: list[dict[str, Any]]) -> None:
    """Ansible's multi-line warning dump is for its own CLI; opsctl words the problem itself."""
    from ansible.utils.display import Display  # type: ignore[import-untyped]

    display = Display()

    def warning(msg: str, *args: Any, **kwargs: Any) -> None:
        warnings.append({"source": current[-1] if current else "", "message": str(msg)})

    def error_as_warning(msg: str, exception: BaseException, *args: Any, **kwargs: Any) -> None:
        plugin = str(msg).split("'")[1] if str(msg).count("'") >= 2 else ""
        failures.append({"source": current[-1] if current else "", "plugin": plugin,
                         "message": _message(exception), "line": _line(exception)})

    display.warning = warning
    display.error_as_warning = error_as_warning


def main(sources: list[str]) -> dict[str, Any]:
    current: list[str] = []
    warnings: list[dict[str, str]] = []
    failures: list[dict[str, Any]] = []
    _quiet_display(current, warnings, failures)

    from ansible import constants  # type: ignore[attr-defined]
    from ansible.errors import AnsibleError  # type: ignore[import-untyped]
    from ansible.inventory.manager import InventoryManager  # type: ignore[import-untyped]
    from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]
    from ansible.vars.manager import VariableManager  # type: ignore[import-untyped]

    class Manager(InventoryManager):  # type: ignore[misc]
        def parse_source(self, source: str, cache: bool = False) -> bool:
            current.append(source)
            try:
                return bool(super().parse_source(source, cache=cache))
            finally:
                current.pop()

    from ansible.plugins.loader import init_plugin_loader  # type: ignore[import-untyped]

    # Every source Ansible cannot read is a failure, never a quiet "only localhost" inventory.
    constants.INVENTORY_UNPARSED_IS_FAILED = True
    constants.INVENTORY_ANY_UNPARSED_IS_FAILED = True

    # As Ansible's own CLIs do: makes installed collections (amazon.aws.aws_ec2, ...) loadable.
    if not _LOADER_READY:
        init_plugin_loader()
        _note_ini_lines()
        _LOADER_READY.append(True)
    loader = DataLoader()
    try:
        inventory = Manager(loader=loader, sources=sources)
    except AnsibleError as exc:
        return {"error": _message(exc), "failures": failures, "warnings": warnings}
    except RecursionError:
        return {"error": "a YAML alias refers to itself", "failures": failures, "warnings": warnings}
    variables = VariableManager(loader=loader, inventory=inventory)
    hosts: list[list[Any]] = []
    for host in inventory.get_hosts():
        found = variables.get_vars(host=host, include_hostvars=False, stage="all")
        origin = str(found.get("inventory_file") or "")
        for name in (*constants.INTERNAL_STATIC_VARS, *_MAGIC):
            found.pop(name, None)
        try:
            hosts.append([str(host.name), plain(found, [MAX_NODES]), origin])
        except (TooLarge, RecursionError):
            return {"error": f"the variables of host {host.name} are too large or nest too deeply "
                    "(a YAML alias bomb?)", "failures": [], "warnings": warnings, "source": origin}
    groups = {
        str(name): [str(h.name) for h in group.get_hosts()]
        for name, group in inventory.groups.items()
    }
    return {"hosts": hosts, "groups": groups, "warnings": warnings}


_MAGIC = ("inventory_file", "inventory_dir", "inventory_hostname", "inventory_hostname_short",
          "group_names", "groups", "playbook_dir", "ansible_playbook_python", "ansible_config_file",
          "ansible_version", "ansible_facts", "omit", "role_names", "ansible_play_hosts_all")


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_NOCOLOR", "1")
    os.environ.setdefault("ANSIBLE_DEPRECATION_WARNINGS", "False")
    sys.stdout.write(json.dumps(main(sys.argv[1:])) + "\n")
