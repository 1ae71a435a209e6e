"""`opsctl status`: what runs where."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt, JsonOpt
from opsctl.errors import NotImplementedYet


def status(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Per host and service: running version, container state, health and uptime."""
    raise NotImplementedYet("status")
