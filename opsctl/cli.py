"""The opsctl command line: the root app, global options, and error handling.

Command modules are imported here so that `--help` can list them; they must keep their top-level
imports light (no boto3, docker or ansible_runner), which tests/unit/test_startup.py checks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opsctl import __version__, output
from opsctl.commands import bootstrap as bootstrap_cmd
from opsctl.commands import (
    build,
    check,
    config_cmd,
    dashboard,
    deploy,
    exec_cmd,
    graph,
    init,
    lab,
    lock,
    logs,
    provision,
    releases,
    status,
    watch,
)
from opsctl.commands import rollback as rollback_cmd
from opsctl.commands.common import Globals
from opsctl.errors import ConfigError, OpsctlError

app = typer.Typer(
    name="opsctl",
    help=(
        "Deploy Docker-packaged web apps to your own servers behind an AWS load balancer, "
        "roll back in seconds, and provision the AWS pieces the app needs.\n\n"
        "Everything is described by one opsctl.yml (see 'opsctl init' and 'opsctl check')."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"opsctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Path to opsctl.yml (default: ./opsctl.yml, or $OPSCTL_CONFIG).",
            envvar="OPSCTL_CONFIG",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    ctx.obj = Globals(config_path=config)


app.command("init")(init.init)
app.command("check")(check.check)
app.command("config")(config_cmd.config)
app.command("build")(build.build)
app.command("deploy")(deploy.deploy)
app.command("rollback")(rollback_cmd.rollback)
app.command("releases")(releases.releases)
app.command("status")(status.status)
app.command("logs")(logs.logs)
app.command("exec")(exec_cmd.exec_)
app.add_typer(lock.app, name="lock")
app.add_typer(provision.app, name="provision")
app.command("bootstrap")(bootstrap_cmd.bootstrap)
app.add_typer(lab.app, name="lab")
app.command("graph")(graph.graph)
app.command("dashboard")(dashboard.dashboard)
app.command("watch")(watch.watch)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        for problem in exc.problems:
            output.error(problem)
        if exc.hint:
            output.info(f"hint: {exc.hint}")
        sys.exit(exc.exit_code)
    except OpsctlError as exc:
        output.error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        sys.exit(130)
