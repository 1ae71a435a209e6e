"""`opsctl build VERSION`: build, tag and push the app image."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import JsonOpt
from opsctl.errors import NotImplementedYet


def build(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version tag, e.g. v65 (letters, digits, . _ -).")],
    no_push: Annotated[bool, typer.Option("--no-push", help="Build and tag only.")] = False,
    build_arg: Annotated[
        list[str] | None, typer.Option("--build-arg", help="Extra build argument K=V (repeatable).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build without the layer cache.")] = False,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="Build even if the git work tree has changes.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Build the image, tag it VERSION and latest, and push both to the registry."""
    raise NotImplementedYet("build")
