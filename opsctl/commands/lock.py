"""`opsctl lock status|acquire|release`: the deploy lock kept on the fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config

app = typer.Typer(help="Inspect, take or release the deploy lock kept on the fleet.", no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Show who holds the deploy lock, since when, and why."""
    from opsctl import output
    from opsctl.deploy.fleet import Fleet, describe_holder

    fleet = Fleet.open(load_config(ctx), env)
    _, holder = fleet.read_ledger()
    if json_:
        output.emit_json({"env": fleet.env_name, "locked": bool(holder), "holder": holder or None})
    elif holder:
        output.stdout().print(f"locked by {describe_holder(holder)}")
    else:
        output.stdout().print("unlocked")


@app.command("acquire")
def acquire(
    ctx: typer.Context,
    env: EnvOpt = None,
    message: Annotated[str | None, typer.Option("--message", "-m", metavar="MESSAGE", help="Why.")] = None,
) -> None:
    """Take the deploy lock, to freeze deploys during maintenance for instance."""
    from opsctl import lifecycle, output
    from opsctl.deploy.fleet import Fleet, holder_info, new_token
    from opsctl.deploy.locking import acquire_lock
    from opsctl.deploy.runner import RunResult, TaskResult
    from opsctl.errors import OpsctlError

    fleet = Fleet.open(load_config(ctx), env)
    token, holder = new_token(), holder_info(None, message, "manual lock")

    def attempt() -> tuple[RunResult, TaskResult | None]:
        result = fleet.state(lock="acquire", token=token, holder=holder)
        return result, result.of("lock").get(fleet.primary)

    acquire_lock(attempt, lock_wait=0, failed=lambda result: OpsctlError(
        f"could not take the deploy lock: {result.failure_summary()}"),
        held_hint="if that process is gone: opsctl lock release")
    output.stdout().print(f"locked {fleet.env_name}; release it with: opsctl lock release -e {fleet.env_name}")
    lifecycle.notify_lock(fleet, "took the deploy lock", message)


@app.command("release")
def release(ctx: typer.Context, env: EnvOpt = None) -> None:
    """Release the deploy lock, including one left by a killed process."""
    from opsctl import lifecycle, output
    from opsctl.deploy.fleet import Fleet, describe_holder
    from opsctl.errors import OpsctlError

    fleet = Fleet.open(load_config(ctx), env)
    result = fleet.state(lock="force_release")
    task = result.of("lock").get(fleet.primary)
    if not result.ok or task is None:
        raise OpsctlError(f"could not release the deploy lock: {result.failure_summary()}")
    held = task.result.get("released")
    output.stdout().print(f"released the lock held by {describe_holder(held)}" if held else "was not locked")
    if held:
        lifecycle.notify_lock(fleet, f"released the deploy lock held by {describe_holder(held)}", None)
