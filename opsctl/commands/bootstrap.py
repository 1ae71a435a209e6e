"""`opsctl bootstrap`: prepare servers (or this machine) to run the app."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt
from opsctl.errors import NotImplementedYet


def bootstrap(
    ctx: typer.Context,
    env: EnvOpt = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run the same playbooks against this machine.")
    ] = False,
) -> None:
    """Install what the app's servers need (Docker engine, directories, proxy)."""
    raise NotImplementedYet("bootstrap")
