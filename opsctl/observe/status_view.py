"""The fleet's status read once (a snapshot) and shown as a table with lights and a summary line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsctl.observe import lights

if TYPE_CHECKING:
    from rich.console import RenderableType

    from opsctl.config.models import Config
    from opsctl.deploy.fleet import Fleet
    from opsctl.deploy.ledger import Release


def service_specs(config: Config, env_name: str) -> list[lights.ServiceSpec]:
    from opsctl.config.checks import environment_hosts

    report = environment_hosts(config, env_name)
    return [
        lights.ServiceSpec(
            name=name,
            http=service.is_http,
            singleton=service.singleton,
            replicas=service.replicas,
            hosts=report.hosts_by_service.get(name, []),
        )
        for name, service in config.services.items()
    ]


@dataclass
class Snapshot:
    env: str
    hosts: dict[str, list[dict[str, Any]]]
    releases: list[Release]
    current: Release | None
    unreachable: list[str]
    summary: lights.Summary
    taken_at: datetime

    def to_json(self) -> dict[str, Any]:
        """`status --json`: the shape it always had, plus a light per container and the summary."""
        return {
            "env": self.env,
            "current": self.current.to_json() if self.current else None,
            "hosts": self.hosts,
            "unreachable": self.unreachable,
            "summary": self.summary.to_json(),
        }


def take(fleet: Fleet, specs: list[lights.ServiceSpec]) -> Snapshot:
    """Read every host once (one playbook run) and fold it into lights and a summary."""
    from opsctl.deploy import ledger
    from opsctl.deploy.inspect import fleet_status

    hosts, entries, unreachable = fleet_status(fleet)
    now = datetime.now(UTC)
    for containers in hosts.values():
        for c in containers:
            c["light"] = lights.container_light(c, now)
    current = ledger.current(entries)
    summary = lights.summarize(specs, hosts, current.to_json() if current else None, unreachable, now)
    return Snapshot(fleet.env_name, hosts, entries, current, unreachable, summary, now)


def light_text(light: str, plain: bool = False) -> Any:
    from rich.text import Text

    if plain:
        return Text(f"{lights.symbol(light)} {light}")
    return Text(f"{lights.symbol(light)} {light}", style=lights.colour(light))


def table(snapshot: Snapshot, plain: bool = False) -> RenderableType:
    """Rows of plain Text: container names and versions come from the hosts, never markup."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    grid = Table("", "host", "service", "container", "version", "release", "up since", box=None)
    for host, containers in snapshot.hosts.items():
        if host in snapshot.unreachable:
            grid.add_row(light_text(lights.UNREACHABLE, plain), Text(host), "-", "(did not answer)", "", "", "")
            continue
        if not containers:
            grid.add_row(light_text(lights.STOPPED, plain), Text(host), "-", "(nothing running)", "", "", "")
        for c in containers:
            grid.add_row(
                light_text(c["light"], plain),
                Text(host),
                Text(c.get("service") or "-"),
                Text(c["name"]),
                Text(str(c.get("version") or "-")),
                Text(str(c.get("release") or "-")),
                Text((c.get("started_at") or "")[:19]),
            )
    overall = lights.HEALTHY if snapshot.summary.ok else lights.UNHEALTHY
    head = light_text(overall, plain)
    line = Text.assemble(head, "  ", Text(f"{snapshot.env}: {snapshot.summary.text}"))
    return Group(grid, Text(""), line)
