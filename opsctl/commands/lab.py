"""`opsctl lab up|down|status`: a disposable local fleet to rehearse deploys on."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import JsonOpt
from opsctl.errors import NotImplementedYet

app = typer.Typer(
    help="A disposable local fleet of SSH + Docker servers, a registry and an AWS endpoint.",
    no_args_is_help=True,
)


@app.command("up")
def up(hosts: Annotated[int, typer.Option("--hosts", help="Number of servers.")] = 3) -> None:
    """Start (or resize) the lab; reuses what is already there."""
    raise NotImplementedYet("lab up")


@app.command("down")
def down(
    purge: Annotated[bool, typer.Option("--purge", help="Also remove the lab's images.")] = False,
) -> None:
    """Remove every container, network, volume and file the lab made."""
    raise NotImplementedYet("lab down")


@app.command("status")
def status(json_: JsonOpt = False) -> None:
    """Show each server, the registry and the AWS endpoint."""
    raise NotImplementedYet("lab status")
