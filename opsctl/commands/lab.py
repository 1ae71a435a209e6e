"""`opsctl lab up|down|status`: a disposable local fleet to rehearse deploys on.

Thin: parse, call opsctl.lab.fleet, render. Heavy imports (docker) happen inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl import output
from opsctl.commands.common import JsonOpt

if TYPE_CHECKING:
    from opsctl.lab.state import LabState

app = typer.Typer(
    help="A disposable local fleet of SSH + Docker servers, a registry and an AWS endpoint.",
    no_args_is_help=True,
)


@app.command("up")
def up(
    hosts: Annotated[int, typer.Option("--hosts", metavar="COUNT", help="Number of servers (1-20).")] = 3,
    json_: JsonOpt = False,
) -> None:
    """Start (or resize) the lab; reuses what is already there."""
    import time

    from opsctl.lab import fleet

    started = time.monotonic()
    state = fleet.up(hosts)
    if json_:
        output.emit_json(state.to_json())
        return
    _render(state)
    output.info(f"Lab up in {time.monotonic() - started:.1f}s.")


@app.command("down")
def down(
    purge: Annotated[bool, typer.Option("--purge", help="Also remove the lab's images.")] = False,
) -> None:
    """Remove every container, network, volume and file the lab made."""
    from opsctl.lab import fleet

    fleet.down(purge=purge)
    output.info("Lab removed." + (" Images removed too." if purge else " Images stay cached."))


@app.command("status")
def status(json_: JsonOpt = False) -> None:
    """Show each server, the registry and the AWS endpoint."""
    from opsctl.lab import fleet

    state = fleet.status()
    if json_:
        output.emit_json(state.to_json())
        return
    if not state.hosts and state.registry_state == "missing" and state.aws_state != "running":
        output.info("No lab is running. Start one with `opsctl lab up`.")
        return
    _render(state)


def _render(state: LabState) -> None:
    from rich.table import Table

    from opsctl.lab import names

    table = Table(title="opsctl lab", title_justify="left")
    for column in ("server", "state", "ssh", "http"):
        table.add_column(column)
    for host in state.hosts:
        colour = "green" if host.state == "running" else "red"
        table.add_row(
            host.name,
            f"[{colour}]{host.state}[/]",
            f"127.0.0.1:{host.ssh_port}",
            f"http://127.0.0.1:{host.http_port}",
        )
    out = output.stdout()
    out.print(table)
    out.print(f"registry      {state.registry} ({state.registry_state}; user opsctl)")
    out.print(f"aws endpoint  {state.aws_endpoint} ({state.aws_state}; region {names.AWS_REGION})")
    out.print(
        f"aws keys      AWS_ACCESS_KEY_ID={names.AWS_ACCESS_KEY_ID} "
        f"AWS_SECRET_ACCESS_KEY={names.AWS_SECRET_ACCESS_KEY} (opsctl uses them by itself for this endpoint)"
    )
    out.print(f"inventory     {state.inventory_path}")
    out.print(f"ssh key       {state.ssh_key_path}")
    out.print(f"secrets       {state.secrets_env_path}")
