"""`opsctl graph`: the app's pieces and how they depend on each other."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt
from opsctl.errors import NotImplementedYet


def graph(ctx: typer.Context, env: EnvOpt = None) -> None:
    """Print the services, hosts and AWS resources of an environment as a graph (DOT)."""
    raise NotImplementedYet("graph")
