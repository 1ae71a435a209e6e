"""`opsctl check`: validate opsctl.yml and the inventories it names."""

from __future__ import annotations

import typer

from opsctl.commands.common import JsonOpt
from opsctl.errors import NotImplementedYet


def check(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Validate opsctl.yml and its inventories; list every error (exit 1) or print a summary."""
    raise NotImplementedYet("check")
