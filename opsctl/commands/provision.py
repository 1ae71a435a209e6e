"""`opsctl provision plan|apply|destroy`: the app's AWS resources."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, YesOpt
from opsctl.errors import NotImplementedYet

app = typer.Typer(
    help="Create and keep the app's AWS resources (RDS, SQS, SES, Route53, ELBv2) as opsctl.yml says.",
    no_args_is_help=True,
)


@app.command("plan")
def plan(
    ctx: typer.Context,
    env: EnvOpt = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 0 with no changes, 2 with changes, 1 on error."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Show what apply would create, update, replace or delete."""
    raise NotImplementedYet("provision plan")


@app.command("apply")
def apply(ctx: typer.Context, env: EnvOpt = None, yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Show the plan, ask, then apply it in dependency order."""
    raise NotImplementedYet("provision apply")


@app.command("destroy")
def destroy(
    ctx: typer.Context,
    env: EnvOpt = None,
    allow_destroy: Annotated[
        list[str] | None,
        typer.Option("--allow-destroy", help="Name of a stateful resource that may be destroyed."),
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Remove what opsctl created, in reverse order (stateful resources only when named)."""
    raise NotImplementedYet("provision destroy")
