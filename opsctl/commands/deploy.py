"""`opsctl deploy [VERSION]`: roll a version out to an environment."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet


def deploy(
    ctx: typer.Context,
    version: Annotated[
        str | None,
        typer.Argument(help="Version tag to deploy (default: the environment's tag, e.g. latest)."),
    ] = None,
    env: EnvOpt = None,
    services: Annotated[
        str | None, typer.Option("--services", help="Comma-separated services (default: all).")
    ] = None,
    hosts: Annotated[
        str | None, typer.Option("--hosts", help="Comma-separated hosts (default: all).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    lock_wait: Annotated[
        float, typer.Option("--lock-wait", help="Seconds to wait for the deploy lock.")
    ] = 0.0,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Note recorded with the lock and release.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Push configs, pull the image, run the release step, and roll hosts batch by batch."""
    raise NotImplementedYet("deploy")
