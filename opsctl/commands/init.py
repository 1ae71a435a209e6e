"""`opsctl init`: write a starter opsctl.yml."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.errors import NotImplementedYet


def init(
    app_name: Annotated[str | None, typer.Argument(help="App name (default: the directory name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing opsctl.yml.")] = False,
) -> None:
    """Write a starter opsctl.yml in the current directory."""
    raise NotImplementedYet("init")
