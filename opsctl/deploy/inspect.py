"""Read-only views of the fleet: status per host and service, and the ledger."""

from __future__ import annotations

from typing import Any

from opsctl import output
from opsctl.deploy import ledger
from opsctl.deploy.fleet import Fleet
from opsctl.deploy.names import INGRESS_NAME
from opsctl.errors import OpsctlError


def fleet_status(fleet: Fleet) -> tuple[dict[str, list[dict[str, Any]]], list[ledger.Release], list[str]]:
    """Containers per host, the newest ledger any host has, and the hosts that did not answer."""
    health = {
        name: {"port": s.port, "path": s.healthcheck.path}
        for name, s in fleet.config.services.items()
        if s.port is not None
    }
    result = fleet.run(
        "status.yml",
        {"opsctl_targets": ",".join(fleet.hosts)},
        label="status",
        data={"health": health, "ingress": INGRESS_NAME if fleet.shared_ingress else None},
        quiet=True,
    )
    containers = {h: [] for h in fleet.hosts}  # type: dict[str, list[dict[str, Any]]]
    for host, task in result.of("containers").items():
        if task.status == "ok":
            containers[host] = sorted(task.result.get("containers", []), key=lambda c: (c["service"] or "", c["name"]))
    answered = {h: t.result for h, t in result.of("ledger").items() if t.status == "ok"}
    unreachable = sorted({r.host for r in result.failures()})
    if len(unreachable) == len(fleet.hosts):
        raise OpsctlError(f"no host answered: {result.failure_summary()}")
    try:
        history = fleet.history(fleet.ledger_state(answered, []), writing=False)
    except OpsctlError as exc:  # what runs where is still worth showing; the ledger problem is named
        output.warn(exc.message)
        history = []
    return containers, history, unreachable
