"""`opsctl deploy [VERSION]`: roll a version out to an environment."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl import completion
from opsctl.commands.common import (
    EnvOpt,
    JsonOpt,
    LockWaitOpt,
    MessageOpt,
    SkipHooksOpt,
    SkipHostsOpt,
    TimingsOpt,
    load_config,
)


def deploy(
    ctx: typer.Context,
    version: Annotated[
        str | None,
        typer.Argument(metavar="VERSION", help="Version tag to deploy (default: the environment's tag, e.g. latest)."),
    ] = None,
    env: EnvOpt = None,
    services: Annotated[
        str | None, typer.Option(
            "--services",
            metavar="SERVICES",
            help="Comma-separated services (default: all).",
            autocompletion=completion.service_list,
        )
    ] = None,
    hosts: Annotated[
        str | None, typer.Option("--hosts", metavar="HOSTS", help="Comma-separated hosts (default: all).")
    ] = None,
    skip_hosts: SkipHostsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    lock_wait: LockWaitOpt = 0.0,
    message: MessageOpt = None,
    skip_hooks: SkipHooksOpt = False,
    timings: TimingsOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Push configs, pull the image, run the release step, and roll hosts batch by batch."""
    from contextlib import nullcontext

    from opsctl import lifecycle, output
    from opsctl.deploy import flows, render
    from opsctl.deploy.fleet import Fleet
    from opsctl.validate import check_version

    if version is not None:
        check_version(version)  # before anything else runs
    config = load_config(ctx)
    if not dry_run:
        from opsctl.config.secrets import require_secrets

        require_secrets(config, config.environment(env)[0], "deploy")  # before any connection or hook
    fleet = Fleet.open(config, env)
    # Hooks and notifications (opsctl.lifecycle): pre-deploy runs before the lock is taken.
    around = None if dry_run else lifecycle.begin_rollout(fleet, "deploy", version, hosts, message, skip_hooks,
                                                                  skip_hosts)
    with around.guard() if around else nullcontext():
        result = flows.deploy(
            fleet, version, hosts=hosts, services=services, dry_run=dry_run, lock_wait=lock_wait, message=message,
            skip_hosts=skip_hosts,
        )
    if isinstance(result, dict):
        if json_:
            output.emit_json({"dry_run": True, "plan": result})
        else:
            output.stdout().print_json(data=result)
        return
    if around:
        around.finished(result)
    render.report(fleet, result, json_, timings=timings)
