"""`opsctl rollback [VERSION]`: go back to an earlier release."""

from __future__ import annotations

from typing import Annotated

import typer

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


def rollback(
    ctx: typer.Context,
    version: Annotated[
        str | None,
        typer.Argument(metavar="VERSION", help="Version to return to (default: the previous succeeded release)."),
    ] = None,
    env: EnvOpt = None,
    lock_wait: LockWaitOpt = 0.0,
    message: MessageOpt = None,
    skip_hooks: SkipHooksOpt = False,
    timings: TimingsOpt = False,
    skip_hosts: SkipHostsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Swap every server back to an earlier release's image: no build, no pull where present."""
    from opsctl import lifecycle
    from opsctl.config.secrets import require_secrets
    from opsctl.deploy import flows, render
    from opsctl.deploy.fleet import Fleet
    from opsctl.validate import check_version

    if version is not None:
        check_version(version)
    config = load_config(ctx)
    require_secrets(config, config.environment(env)[0], "rollback")  # before any connection or hook
    fleet = Fleet.open(config, env)
    # pre-rollback runs before the lock is taken (opsctl.lifecycle).
    around = lifecycle.begin_rollout(fleet, "rollback", version, None, message, skip_hooks, skip_hosts)
    with around.guard():
        result = flows.rollback(fleet, version, lock_wait=lock_wait, message=message, skip_hosts=skip_hosts)
    around.finished(result)
    render.report(fleet, result, json_, timings=timings)
