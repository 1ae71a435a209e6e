"""`opsctl rollback [VERSION]`: go back to an earlier release."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet


def rollback(
    ctx: typer.Context,
    version: Annotated[
        str | None,
        typer.Argument(help="Version to return to (default: the previous succeeded release)."),
    ] = None,
    env: EnvOpt = None,
    lock_wait: Annotated[
        float, typer.Option("--lock-wait", help="Seconds to wait for the deploy lock.")
    ] = 0.0,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Note recorded with the lock and release.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Swap every server back to an earlier release's image: no build, no pull where present."""
    raise NotImplementedYet("rollback")
