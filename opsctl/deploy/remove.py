"""`opsctl remove`: take an app's environment off its servers; other apps and the shared ingress stay.

Takes the deploy lock (so no deploy of this app runs meanwhile), then one run of remove.yml on
every host (library/opsctl_remove.py), whose lock host releases the lock last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsctl.deploy.fleet import Fleet, holder_info, new_token
from opsctl.deploy.names import INGRESS_DIR, INGRESS_NAME, LABEL_PREFIX


@dataclass
class Removal:
    app: str
    env: str
    hosts: list[str]
    keep_ledger: bool
    removed: dict[str, list[str]] = field(default_factory=dict)  # host -> what went
    failed: dict[str, str] = field(default_factory=dict)  # host -> why

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "app": self.app, "env": self.env, "hosts": self.hosts, "keep_ledger": self.keep_ledger,
                "removed": self.removed, "failed": self.failed}


def constants(fleet: Fleet, token: str, keep_ledger: bool) -> dict[str, Any]:
    names = fleet.names
    return {
        "opsctl_targets": ",".join(fleet.hosts), "opsctl_network": names.network, "opsctl_label_prefix": LABEL_PREFIX,
        "opsctl_ingress_name": INGRESS_NAME, "opsctl_ingress_dir": INGRESS_DIR, "opsctl_ingress_key": names.ingress_key,
        "opsctl_keep_ledger": keep_ledger, "opsctl_lock_token": token,
    }


def remove(fleet: Fleet, keep_ledger: bool) -> Removal:
    token = new_token()
    fleet.acquire(token, lambda: holder_info(None, None, "remove"), lock_wait=0)
    result = fleet.run("remove.yml", constants(fleet, token, keep_ledger), label="remove")
    outcome = Removal(fleet.config.app, fleet.env_name, fleet.hosts, keep_ledger)
    tasks = result.of("remove")
    for host in fleet.hosts:
        task = tasks.get(host)
        if task is not None and task.status == "ok":
            outcome.removed[host] = [str(line) for line in task.result.get("removed", [])]
    for failure in result.failures():
        said = failure.result.get("msg") or failure.status
        outcome.failed[failure.host] = " ".join(str(said).split())[:500]
    if not result.ok and not outcome.failed:
        outcome.failed["-"] = result.failure_summary()
    primary = tasks.get(fleet.primary)
    if primary is None or primary.status != "ok":
        fleet.state(lock="release", token=token)  # the lock host did not get to release it
    return outcome
