"""Ansible inventories, read by Ansible itself: every form an Ansible user has works unchanged.

INI and YAML files (ranges, `host:port`, `:children`, `:vars`), directories with group_vars/ and
host_vars/, executable scripts printing JSON and inventory plugins such as `amazon.aws.aws_ec2`
are read by ansible-core in a child process (opsctl.config.ansible_inventory): importing Ansible
costs ~0.8 s, about what the child costs, and the child keeps Ansible's global state and warnings
out of opsctl. Several sources of one environment are loaded together, exactly as
`ansible-playbook -i a -i b` would. What comes back is checked here: host names and addresses must
be safe to put on a command line, and every problem becomes one line naming the file and the host.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.config import inventory_cache
from opsctl.errors import ConfigError
from opsctl.validate import host_problem

# Dynamic inventories ask an API; a hung one must not hang opsctl.
TIMEOUT = 300.0
SLOW_NOTICE = 3.0


@dataclass
class Inventory:
    path: Path  # the first source (for messages; `sources` has them all)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> variables, Ansible's order
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> host names (descendants too)
    sources: list[Path] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # host -> the source that defined it

    def __post_init__(self) -> None:
        self.sources = self.sources or [self.path]

    def describe(self) -> str:
        return ", ".join(shown(p) for p in self.sources)

    def hosts_in(self, groups: list[str]) -> list[str]:
        """Hosts of any of the groups, in inventory order; every host when `groups` is empty."""
        if not groups or "all" in groups:
            return list(self.hosts)
        wanted = {h for g in groups for h in self.groups.get(g, [])}
        return [h for h in self.hosts if h in wanted]

    def address(self, host: str) -> str:
        """Where Ansible connects to: `ansible_host`, or the inventory name itself."""
        value = self.hosts[host].get("ansible_host")
        return str(value) if value not in (None, "") else host


def shown(path: Path | str) -> str:
    """A path as the user would write it: relative to the current directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


class PendingInventory:
    """An inventory Ansible is reading in a child process (several can be read at once).

    A static inventory read before with the same inputs comes from the cache instead
    (opsctl.config.inventory_cache), and then no child is started at all.
    """

    def __init__(self, sources: Sequence[Path], hidden: Iterable[str] = ()):
        self.sources = list(sources)
        self._proc: subprocess.Popen[str] | None = None
        self._cached: dict[str, Any] | None = None
        self._key: str | None = None
        self._problems = [f"{shown(p)}: no such inventory file or directory" for p in self.sources
                          if not p.exists()]
        if self._problems:
            return
        # The app's secrets are none of an inventory script's business.
        secret = set(hidden)
        self._env = {k: v for k, v in os.environ.items() if k not in secret}
        if inventory_cache.enabled():
            self._key = inventory_cache.cache_key(self.sources, self._env)
            if self._key is not None:
                self._cached = inventory_cache.load(self._key)
                if self._cached is not None:
                    return
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            [sys.executable, "-m", "opsctl.config.ansible_inventory", *(str(p) for p in self.sources)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self._env,
        )

    def result(self, notice: Callable[[str], None] | None = None) -> Inventory:
        """The inventory, or a ConfigError; `notice(text)` is told when reading it is slow."""
        if self._cached is not None:
            try:
                return _build(self.sources, self._cached)
            except ConfigError:
                # Only outputs that built cleanly are stored: this entry is not one of ours. Ask Ansible.
                if self._key is not None:
                    inventory_cache.discard(self._key)
                self._cached = None
                self._start()
        if self._proc is None:
            raise ConfigError(self._problems)
        try:
            out, err = self._proc.communicate(timeout=SLOW_NOTICE)
        except subprocess.TimeoutExpired:
            if notice is not None:
                notice(f"Ansible is still reading inventory {self.describe()} ...")
            try:
                out, err = self._proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
                raise ConfigError([f"{self.describe()}: Ansible did not finish reading the inventory "
                                   f"within {TIMEOUT:.0f} s"]) from None
        try:
            data = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            last = (err.strip().splitlines() or ["no output"])[-1]
            raise ConfigError([f"{self.describe()}: Ansible could not read the inventory: {last}"])
        inventory = _build(self.sources, data)
        # Stored under the key of the inputs as they were before the child started; if they changed
        # while it ran, what it read may belong to neither, so nothing is stored.
        if self._key is not None and inventory_cache.cache_key(self.sources, self._env) == self._key:
            inventory_cache.store(self._key, data)
        return inventory

    def describe(self) -> str:
        return ", ".join(shown(p) for p in self.sources)


def load_inventory(sources: Path | Sequence[Path], hidden: Iterable[str] = ()) -> Inventory:
    """Read one environment's inventory sources with Ansible; ConfigError lists what is wrong."""
    paths = [sources] if isinstance(sources, Path) else list(sources)
    return PendingInventory(paths, hidden).result()


def _build(sources: list[Path], data: dict[str, Any]) -> Inventory:
    from opsctl.config.inventory_errors import describe_failure

    if "error" in data:
        raise ConfigError([describe_failure(sources, data)])
    inventory = Inventory(path=sources[0], sources=sources)
    problems: list[str] = []
    for name, variables, origin in data.get("hosts", []):
        where = shown(origin) if origin else inventory.describe()
        problem = host_problem(name) or _address_problem(variables)
        if problem:
            problems.append(f"{where}: host {name!r}: {problem}")
        inventory.hosts[name] = variables
        inventory.origins[name] = origin
    inventory.groups = {str(g): list(h) for g, h in data.get("groups", {}).items()}
    skipped = [w for w in data.get("warnings", []) if str(w.get("message", "")).startswith("Skipping")]
    if skipped:
        problems.append(describe_failure(sources, {"warning": skipped[0]}))
    if problems:
        raise ConfigError(problems)
    return inventory


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9])?")


def _address_problem(variables: dict[str, Any]) -> str | None:
    if "ansible_host" in variables:
        address = variables["ansible_host"]
        if not isinstance(address, str) or not _usable_address(address):
            return f"ansible_host {address!r} is not a usable address (expected a host name or IP address)"
    if "ansible_port" in variables:
        port = variables["ansible_port"]
        try:
            number = int(port) if not isinstance(port, bool) else 0
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= 65535:
            return f"ansible_port {port!r} is not a port (expected 1-65535)"
    return None


def _usable_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(value))
