"""One environment's fleet as opsctl sees it: config, inventory, hosts, and the playbook runs on it."""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl import output, paths
from opsctl.config.inventory import Inventory, load_inventory
from opsctl.config.models import Config, Environment
from opsctl.deploy import ledger
from opsctl.deploy.names import Names
from opsctl.deploy.runner import RunResult, run_playbook
from opsctl.errors import OpsctlError


@dataclass
class Fleet:
    config: Config
    env_name: str
    env: Environment
    inventory: Inventory

    @classmethod
    def open(cls, config: Config, env_name: str | None) -> Fleet:
        from opsctl.config.checks import environment_hosts

        name, env = config.environment(env_name)
        inventory = environment_hosts(config, name, output.info).inventory
        assert inventory is not None  # environment_hosts raises when it could not be read
        return cls(config=config, env_name=name, env=env, inventory=inventory)

    @property
    def primary(self) -> str:
        return next(iter(self.inventory.hosts))

    @property
    def hosts(self) -> list[str]:
        return list(self.inventory.hosts)

    @property
    def names(self) -> Names:
        return Names(self.config.app, self.env_name)

    def run(self, playbook: str, constants: dict[str, Any], label: str,
            data: dict[str, Any] | None = None, **kwargs: Any) -> RunResult:
        """Run a playbook on this fleet: `constants` as extravars, `data` through the run's data file."""
        from opsctl.deploy.contract import check_supplied

        check_supplied(playbook, set(constants), set(data or {}))
        base = {
            "opsctl_app": self.config.app,
            "opsctl_env": self.env_name,
            "opsctl_state_dir": self.names.state_dir,
            "opsctl_primary": self.primary,
        }
        return run_playbook(
            playbook,
            self.inventory.sources,
            {**base, **constants},
            data=data,
            forks=len(self.inventory.hosts) + 1,
            label=f"{self.config.app}-{self.env_name}-{label}",
            **kwargs,
        )

    # --- lock and ledger -------------------------------------------------------------------

    def state(self, lock: str = "none", token: str = "", holder: dict[str, Any] | None = None) -> RunResult:
        return self.run(
            "state.yml",
            {"opsctl_lock": lock, "opsctl_lock_token": token},
            label="state",
            data={"holder": holder or {}},
            quiet=True,
        )

    def read_ledger(self) -> tuple[list[ledger.Release], dict[str, Any] | None]:
        result = self.state(lock="status")
        task = result.of("lock").get(self.primary)
        if not result.ok or task is None:
            raise OpsctlError(f"could not read the fleet's state: {result.failure_summary()}")
        return ledger.parse(task.result.get("ledger") or []), task.result.get("holder")

    def write_ledger(self, entries: list[dict[str, Any]], skip: list[str] | None = None) -> None:
        """Write the ledger on every host but `skip` (hosts already found unreachable in this command)."""
        hosts = [h for h in self.hosts if h not in (skip or [])]
        result = self.run(
            "state.yml",
            {"opsctl_lock": "none", "opsctl_ledger_hosts": ",".join(hosts)},
            label="ledger",
            data={"ledger": entries},
            quiet=True,
        )
        if not result.ok:
            raise OpsctlError(f"could not write the release ledger: {result.failure_summary()}")


def local_fleet(config: Config, env_name: str | None) -> Fleet:
    """This machine as a one-host fleet, for local development with the very same playbooks."""
    import sys

    from opsctl.errors import UsageError
    from opsctl.validate import slug_problem

    name = env_name or os.environ.get("OPSCTL_ENV") or "local"
    problem = slug_problem(name)
    if problem:
        raise UsageError(f"environment: {problem}")
    env = config.environments.get(name) or Environment(inventory=["(this machine)"])
    path = paths.state_home() / "local-inventory.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return Fleet(config=config, env_name=name, env=env, inventory=load_inventory(path))


def new_token() -> str:
    return uuid.uuid4().hex


def who() -> str:
    user = os.environ.get("OPSCTL_USER")
    if user:
        return user
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"{name}@{socket.gethostname()}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def holder_info(version: str | None, message: str | None, action: str) -> dict[str, Any]:
    return {
        "who": who(),
        "since": now(),
        "version": version,
        "message": message,
        "action": action,
        "pid": os.getpid(),
    }


def describe_holder(holder: dict[str, Any]) -> str:
    parts = [str(holder.get("who", "someone"))]
    if holder.get("action"):
        parts.append(f"{holder['action']} {holder.get('version') or ''}".strip())
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    if holder.get("message"):
        parts.append(f"({holder['message']})")
    if holder.get("pid"):
        parts.append(f"pid {holder['pid']}")
    return " ".join(parts)


def artifacts_hint(path: Path | None) -> str | None:
    return f"Ansible's events for this run are in {path}" if path else None
