"""`opsctl config`: show the effective configuration."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet


def config(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Print the effective configuration for an environment (secret values masked)."""
    raise NotImplementedYet("config")
