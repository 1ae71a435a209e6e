"""`opsctl lock status|acquire|release`: the deploy lock kept on the fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet

app = typer.Typer(help="Inspect, take or release the deploy lock kept on the fleet.", no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Show who holds the deploy lock, since when, and why."""
    raise NotImplementedYet("lock status")


@app.command("acquire")
def acquire(
    ctx: typer.Context,
    env: EnvOpt = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Why.")] = None,
) -> None:
    """Take the deploy lock (e.g. to freeze deploys during maintenance)."""
    raise NotImplementedYet("lock acquire")


@app.command("release")
def release(ctx: typer.Context, env: EnvOpt = None) -> None:
    """Release the deploy lock, including one left by a killed process."""
    raise NotImplementedYet("lock release")
