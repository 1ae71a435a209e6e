"""`opsctl status`: what runs where, with a light per container and a one-line summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet
    from opsctl.observe.lights import ServiceSpec


def status(
    ctx: typer.Context,
    env: EnvOpt = None,
    json_: JsonOpt = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh in place until Ctrl-C.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", help="Seconds between refreshes with --watch.", min=0.5, max=3600)
    ] = 2.0,
) -> None:
    """Per host and service: a status light, version, release and uptime; then a one-line summary."""
    from opsctl import output
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import OpsctlError
    from opsctl.observe import status_view

    config = load_config(ctx)
    fleet = Fleet.open(config, env)
    specs = status_view.service_specs(config, fleet.env_name)
    if watch:
        if json_:
            raise OpsctlError("--watch and --json do not go together (use --json in a loop of your own)")
        _watch(fleet, specs, interval)
        return
    snapshot = status_view.take(fleet, specs)
    if json_:
        output.emit_json(snapshot.to_json())
    else:
        output.stdout().print(status_view.table(snapshot, plain=not output.stdout().is_terminal))
        for host in snapshot.unreachable:
            output.warn(f"{host} did not answer")
    if snapshot.unreachable:
        raise typer.Exit(1)


def _watch(fleet: Fleet, specs: list[ServiceSpec], interval: float) -> None:
    """Redraw the table in place; each round is one read of every host. Ctrl-C ends it cleanly."""
    import time

    from rich.live import Live
    from rich.text import Text

    from opsctl import output
    from opsctl.errors import OpsctlError
    from opsctl.observe import lights, status_view

    console = output.stdout()
    plain = not console.is_terminal
    try:
        with Live(Text("reading the fleet..."), console=console, auto_refresh=False, transient=False) as live:
            while True:
                started = time.monotonic()
                try:
                    view = status_view.table(status_view.take(fleet, specs), plain=plain)
                except OpsctlError as exc:
                    view = Text(f"{lights.symbol(lights.UNREACHABLE)} {exc.message}")
                live.update(view, refresh=True)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        output.info("stopped watching")
