"""The fleet's status read once (a snapshot) and shown as a table with lights and a summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    behind: dict[str, str] = field(default_factory=dict)  # host -> why it is not on the current release
    converge: str | None = None  # the command that brings every host onto the current release

    def to_json(self) -> dict[str, Any]:
        """`status --json`: the shape it always had, plus a light per container and the summary."""
        return {
            "env": self.env,
            "current": self.current.to_json() if self.current else None,
            "hosts": self.hosts,
            "unreachable": self.unreachable,
            "summary": self.summary.to_json(),
            "behind": self.behind,
            "converge": self.converge,
        }


def behind(current: Release | None, versions: dict[str, list[str]]) -> dict[str, str]:
    """Hosts not on the current release, and why: left out by it (`--skip-hosts`), or running another version."""
    if current is None:
        return {}
    on_current = set(versions.get(current.version, []))
    found = {h: f"runs {v}" for v, hs in versions.items() if v != current.version for h in hs if h not in on_current}
    for host in current.skipped:
        if host not in on_current:
            found[host] = f"skipped by #{current.number}" + (f", {found[host]}" if host in found else "")
    return dict(sorted(found.items()))


def converge_command(current: Release, env: str) -> str:
    """The command that puts every host on the current release again."""
    verb = "rollback" if current.kind == "rollback" else "deploy"
    return f"opsctl {verb} {current.version} -e {env}"


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
    late = behind(current, summary.versions)
    converge = None
    if current is not None and late:
        converge = converge_command(current, fleet.env_name)
        summary.ok = False
        summary.text += f"; not on #{current.number}: " + ", ".join(f"{h} ({why})" for h, why in late.items())
        summary.text += f"; to converge: {converge}"
    return Snapshot(fleet.env_name, hosts, entries, current, unreachable, summary, now, late, converge)


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
