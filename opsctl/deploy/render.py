"""How deploy, rollback, releases and status results look to a person (JSON is the data as is)."""

from __future__ import annotations

from typing import Any

from opsctl import output
from opsctl.deploy import ledger


def report(fleet: Any, result: Any, as_json: bool) -> None:
    """Announce a deploy's or rollback's outcome to webhooks and the user; exit 1 if it failed."""
    import typer

    from opsctl.deploy.flows import announce

    announce(fleet, result)
    if as_json:
        output.emit_json(result.to_json())
    else:
        outcome(result)
    if not result.ok:
        raise typer.Exit(1)


def outcome(result: Any) -> None:
    release = result.release
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    if result.ok:
        output.info(f"[green]release #{release.number}[/] {release.title}: {release.status} ({timings})")
    else:
        output.error(f"release #{release.number} {release.title}: {release.status}")
        output.info(f"fleet: {result.fleet_state}")


def releases(entries: list[ledger.Release]) -> None:
    from rich.table import Table

    now = ledger.current(entries)
    table = Table("#", "release", "version", "status", "who", "when", "digest", "message", box=None)
    for r in reversed(entries):
        mark = "*" if now is not None and r.number == now.number else ""
        table.add_row(
            f"{r.number}{mark}", r.title, r.version, r.status, r.who, r.when,
            (r.digest or "-")[:19], r.message or "",
        )
    output.stdout().print(table)
    if not entries:
        output.info("no releases yet")


def status(hosts: dict[str, list[dict[str, Any]]], current: ledger.Release | None) -> None:
    from rich.table import Table

    table = Table("host", "service", "container", "version", "release", "state", "health", "up since", box=None)
    for host, containers in hosts.items():
        if not containers:
            table.add_row(host, "-", "(nothing running)", "", "", "", "", "")
        for c in containers:
            table.add_row(
                host, c.get("service") or "-", c["name"], c.get("version") or "-", c.get("release") or "-",
                c["state"], c.get("health") or "-", (c.get("started_at") or "")[:19],
            )
    output.stdout().print(table)
    if current is not None:
        output.info(f"current release: #{current.number} {current.title}")
