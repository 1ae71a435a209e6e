"""Options and helpers shared by the command modules (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl import completion

if TYPE_CHECKING:
    from opsctl.config.models import Config


@dataclass
class Globals:
    config_path: Path | None


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        metavar="ENV",
        help="Environment from opsctl.yml, or a unique prefix of one (default: $OPSCTL_ENV, or the only one).",
        autocompletion=completion.environments,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
TimingsOpt = Annotated[bool, typer.Option(
    "--timings", help="Show where the time went: each phase, per host (--json always has it).")]
LockWaitOpt = Annotated[float, typer.Option("--lock-wait", metavar="SECONDS", help="Seconds to wait for the deploy lock.")]
SkipHooksOpt = Annotated[
    bool, typer.Option("--skip-hooks", help="Do not run the hooks in .opsctl/hooks/.")
]
SkipHostsOpt = Annotated[
    str | None,
    typer.Option("--skip-hosts", metavar="HOSTS",
                 help="Comma-separated hosts known to be down: left out, and recorded as behind in the ledger."),
]
MessageOpt = Annotated[
    str | None, typer.Option("--message", "-m", metavar="MESSAGE", help="Note recorded with the lock and release.")
]


def config_path(ctx: typer.Context) -> Path | None:
    globals_ = ctx.find_root().obj
    return globals_.config_path if isinstance(globals_, Globals) else None


def load_config(ctx: typer.Context) -> Config:
    from opsctl.config.loader import load

    return load(config_path(ctx))
