"""`opsctl logs SERVICE`: container logs from the fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt
from opsctl.errors import NotImplementedYet


def logs(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name, e.g. web.")],
    env: EnvOpt = None,
    hosts: Annotated[str | None, typer.Option("--hosts", help="Comma-separated hosts.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per container.")] = 100,
) -> None:
    """Show the recent logs of a service's containers on each host."""
    raise NotImplementedYet("logs")
