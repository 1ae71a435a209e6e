"""`opsctl dev up|down|status`: run the app on this machine with the deploy playbooks and local
stand-ins for its AWS resources (opsctl/dev/). Heavy imports happen inside the commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opsctl import output
from opsctl.commands.common import JsonOpt, YesOpt, load_config

app = typer.Typer(
    help="Run the app on this machine through the same playbooks and proxy, with local stand-ins "
         "(PostgreSQL for aws.rds, an AWS endpoint for SQS/SES).",
    no_args_is_help=True,
)

DevEnvOpt = Annotated[
    str | None,
    typer.Option("--env", "-e", metavar="ENV",
                 help="Name of this machine's environment (default: $OPSCTL_ENV, or 'local'); settings of "
                      "environments.ENV in opsctl.yml apply when it exists."),
]


@app.command("up")
def up(
    ctx: typer.Context,
    version: Annotated[str, typer.Option("--version", "-v", metavar="VERSION",
                                         help="Tag for the image built here (never pushed).")] = "dev",
    port: Annotated[int, typer.Option("--port", "-p", metavar="PORT", envvar="OPSCTL_DEV_PORT",
                                      help="Port on 127.0.0.1 of the first HTTP service (the next "
                                           "ones take the following ports).")] = 8480,
    env: DevEnvOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Build the image here, start the stand-ins, and deploy every service to this machine."""
    from opsctl.dev import plan
    from opsctl.dev import up as dev_up

    config = load_config(ctx)
    env_name = _env_name(env)
    report = dev_up.up(config, env_name, version, port, plan.Images.from_environ())
    if json_:
        output.emit_json(report.to_json())
        return
    console = output.stdout()
    for service, url in report.urls.items():
        console.print(output.literal(f"{service}: {url}"))
    for what, where in report.standins.items():
        console.print(output.literal(f"{what}: {where}"))
    output.info(f"{report.app} {report.version} runs here; stop it with: opsctl dev down -e {report.env}")


@app.command("down")
def down(ctx: typer.Context, env: DevEnvOpt = None, yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Remove the app's containers, the stand-ins and the local state `dev up` made."""
    from opsctl.dev import down as dev_down

    config = load_config(ctx)
    env_name = _env_name(env)
    client = dev_down.engine()
    found = dev_down.find(client, config.app, env_name)
    if found.empty:
        if json_:
            output.emit_json({"ok": True, "removed": []})
        else:
            output.info(f"nothing of {config.app} ({env_name}) runs here")
        return
    confirm(yes, f"remove {len(found.containers)} container(s), the stand-ins and the local state "
                  f"(database included) of {config.app} ({env_name})?")
    removed = dev_down.remove(client, found)
    if json_:
        output.emit_json({"ok": True, "removed": removed})
        return
    for line in removed:
        output.info(f"removed {line}")


@app.command("status")
def status(ctx: typer.Context, env: DevEnvOpt = None, json_: JsonOpt = False) -> None:
    """What `dev up` runs on this machine: containers, stand-ins, local files."""
    from opsctl.dev import down as dev_down

    config = load_config(ctx)
    env_name = _env_name(env)
    found = dev_down.find(dev_down.engine(), config.app, env_name)
    if json_:
        output.emit_json({"app": config.app, "env": env_name, **found.to_json()})
        return
    if found.empty:
        output.info(f"nothing of {config.app} ({env_name}) runs here; start it with: opsctl dev up")
        return
    console = output.stdout()
    for entry in found.containers:
        console.print(output.literal(f"{entry['name']}  {entry['status']}  {entry['role']}"))
    if found.moto_pid:
        console.print(output.literal(f"AWS endpoint (moto)  pid {found.moto_pid}"))


def _env_name(env: str | None) -> str:
    import os

    from opsctl.dev.plan import DEFAULT_ENV
    from opsctl.errors import UsageError
    from opsctl.validate import slug_problem

    name = env or os.environ.get("OPSCTL_ENV") or DEFAULT_ENV
    problem = slug_problem(name)
    if problem:
        raise UsageError(f"--env: {problem}")
    return name


def confirm(yes: bool, question: str) -> None:
    """Go ahead with `yes`, or a person's yes on a terminal; CI and no terminal need --yes."""
    from opsctl.errors import OpsctlError, UsageError

    if yes:
        return
    # CI=true is not consent: it deletes a database.
    if output.is_ci() or not sys.stdin.isatty():
        raise UsageError("not going ahead without confirmation" + (" (CI=true)" if output.is_ci() else
                         ": there is no terminal to ask on"), hint="pass --yes to confirm")
    if not typer.confirm(question, default=False, err=True):
        raise OpsctlError("cancelled; nothing was changed")
