"""`opsctl releases`: the release ledger kept on the fleet."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet


def releases(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """List the environment's numbered releases, newest first."""
    raise NotImplementedYet("releases")
