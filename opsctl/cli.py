"""The opsctl command line: the root app, global options, and error handling.

Command modules are imported here so that `--help` can list them; they must keep their top-level
imports light (no boto3, docker or ansible_runner), which tests/unit/test_startup.py checks.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
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
    dev,
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
from opsctl.commands import remove as remove_cmd
from opsctl.commands import rollback as rollback_cmd
from opsctl.commands.common import Globals
from opsctl.errors import ConfigError, OpsctlError
from opsctl.help_examples import epilog

app = typer.Typer(
    name="opsctl",
    help=(
        "Deploy Docker-packaged web apps to your own servers behind an AWS load balancer, "
        "roll back in seconds, and provision the AWS pieces the app needs.\n\n"
        "Everything is described by one opsctl.yml (see 'opsctl init' and 'opsctl check')."
    ),
    epilog=epilog("opsctl"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # --install-completion / --show-completion for bash, zsh and fish; -e and service names
    # complete from opsctl.yml (opsctl/completion.py).
    add_completion=True,
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
            metavar="PATH",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    ctx.obj = Globals(config_path=config)


_COMMANDS: dict[str, Callable[..., None]] = {
    "init": init.init,
    "check": check.check,
    "config": config_cmd.config,
    "build": build.build,
    "deploy": deploy.deploy,
    "rollback": rollback_cmd.rollback,
    "releases": releases.releases,
    "status": status.status,
    "logs": logs.logs,
    "exec": exec_cmd.exec_,
    "bootstrap": bootstrap_cmd.bootstrap,
    "graph": graph.graph,
    "dashboard": dashboard.dashboard,
    "watch": watch.watch,
    "remove": remove_cmd.remove,
}
_GROUPS = {"lock": lock.app, "provision": provision.app, "lab": lab.app, "dev": dev.app}


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    # A CI cancel (TERM) or a closed terminal (HUP) takes the same path as Ctrl-C: the lock is
    # released and the interruption recorded, instead of opsctl vanishing mid-step.
    raise KeyboardInterrupt


def _register() -> None:
    """Add every command, each with its examples as its help's epilog (opsctl/help_examples.py)."""
    for name, function in _COMMANDS.items():
        app.command(name, epilog=epilog(name))(function)
    for name, group in _GROUPS.items():
        for info in group.registered_commands:
            info.epilog = info.epilog or epilog(f"{name} {info.name}")
        app.add_typer(group, name=name, epilog=epilog(name))


_register()


def main(argv: list[str] | None = None) -> None:
    """The `opsctl` entry point: run a command; report failures once, as JSON too under --json."""
    args = sys.argv[1:] if argv is None else argv
    as_json = _wants_json(args)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_like_ctrl_c)
    try:
        code = app(args=args, prog_name="opsctl", standalone_mode=False)
    except typer.TyperException as exc:  # bad usage: unknown option, missing argument, ...
        show = getattr(exc, "show", None)
        if callable(show):
            show()  # the usage line, "Try 'opsctl X --help'", and the error
        else:
            output.error(exc.format_message())
        _fail_json(as_json, exc.format_message(), None, exc.exit_code)
        sys.exit(exc.exit_code)
    except typer.Abort:
        output.error("aborted")
        _fail_json(as_json, "aborted", None, 1)
        sys.exit(1)
    except ConfigError as exc:
        for problem in exc.problems:
            output.error(problem)
        if exc.hint:
            output.info(f"hint: {exc.hint}")
        _fail_json(as_json, exc.message, exc.hint, exc.exit_code, exc.problems)
        sys.exit(exc.exit_code)
    except OpsctlError as exc:
        output.error(exc.message, exc.hint)
        _fail_json(as_json, exc.message, exc.hint, exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        _fail_json(as_json, "interrupted", None, 130)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _wants_json(args: list[str]) -> bool:
    """`--json` among opsctl's own arguments (not after `--`, where `exec`'s command starts)."""
    own = args[: args.index("--")] if "--" in args else args
    return "--json" in own


def _fail_json(
    as_json: bool, message: str, hint: str | None, exit_code: int, problems: list[str] | None = None
) -> None:
    """Under --json a failure is also one JSON object on stdout, unless the command printed its own."""
    if not as_json or output.json_emitted():
        return
    # Flat, like a failed deploy's own object: `jq -r .error` reads the message either way.
    report: dict[str, object] = {"ok": False, "error": message, "hint": hint, "exit_code": exit_code}
    if problems is not None:
        report["problems"] = problems
    output.emit_json(report)
