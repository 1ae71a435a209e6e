"""`opsctl exec`: run a one-off command in a container of the current release."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt
from opsctl.errors import NotImplementedYet


def exec_(
    ctx: typer.Context,
    command: Annotated[list[str], typer.Argument(help="Command and arguments to run.")],
    env: EnvOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Host (default: the primary).")] = None,
) -> None:
    """Run a one-off command in a new container of the current release's image."""
    raise NotImplementedYet("exec")
