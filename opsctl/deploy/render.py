"""How deploy, rollback, releases and status results look to a person (JSON is the data as is)."""

from __future__ import annotations

from typing import Any

from opsctl import output
from opsctl.deploy import ledger


def report(fleet: Any, result: Any, as_json: bool, timings: bool = False) -> None:
    """Announce a deploy's or rollback's outcome to webhooks and the user; exit 1 if it failed."""
    import typer

    from opsctl.deploy.flows import announce

    announce(fleet, result)
    if as_json:
        output.emit_json(result.to_json())
    else:
        if timings:
            timing_table(result.timings, result.host_timings)
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
        output.info(f"fleet: {output.escape(result.fleet_state)}")  # may quote hosts' error text


def timing_table(overall: dict[str, float], hosts: dict[str, dict[str, float]]) -> None:
    """Seconds per phase (columns) on each host (rows), then each phase's wall time over all hosts."""
    from rich.table import Table

    from opsctl.deploy.timings import FINISH_STEPS, PHASES, PREPARE_STEPS, SWAP_STEPS

    order = [*PHASES.values(), *PREPARE_STEPS, *SWAP_STEPS, *FINISH_STEPS]
    columns = [c for c in order if any(c in h for h in hosts.values())]
    table = Table("host", *columns, box=None)
    for host, spent in sorted(hosts.items()):
        table.add_row(output.literal(host), *(f"{spent[c]:.2f}" if c in spent else "-" for c in columns))
    output.stdout().print(table)
    output.info("wall time: " + ", ".join(f"{k} {v:.2f}s" for k, v in overall.items()))


def releases(entries: list[ledger.Release]) -> None:
    from rich.table import Table

    now = ledger.current(entries)
    table = Table("#", "release", "version", "status", "who", "when", "digest", "message", box=None)
    for r in reversed(entries):
        mark = "*" if now is not None and r.number == now.number else ""
        # Every cell is literal text: ledger fields come from the servers (and people's messages).
        cells = [f"{r.number}{mark}", r.title, r.version, r.status, r.who, r.when,
                 (r.digest or "-")[:19], r.message or ""]
        table.add_row(*(output.literal(c) for c in cells))
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
            # Every field was read from the host (container names, labels, states): literal text.
            cells = [c.get("service") or "-", c.get("name") or "-", c.get("version") or "-",
                     c.get("release") or "-", c.get("state") or "-", c.get("health") or "-",
                     str(c.get("started_at") or "")[:19]]
            table.add_row(output.literal(host), *(output.literal(str(cell)) for cell in cells))
    output.stdout().print(table)
    if current is not None:
        output.info(f"current release: #{current.number} {output.escape(current.title)}")
