"""`opsctl lock status|acquire|release`: the deploy lock kept on the fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config

app = typer.Typer(help="Inspect, take or release the deploy lock kept on the fleet.", no_args_is_help=True)


@app.command("status")
def status(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Show who holds the deploy lock, since when, and why (and whether its holder is gone)."""
    from opsctl import output
    from opsctl.deploy import locking
    from opsctl.deploy.fleet import Fleet

    fleet = Fleet.open(load_config(ctx), env)
    holder = fleet.read_state(lock="status").holder
    live = locking.liveness(holder, locking.machine(), locking.local_process) if holder else None
    if json_:
        output.emit_json({
            "env": fleet.env_name,
            "locked": bool(holder),
            "holder": holder.model_dump() if holder else None,
            "holder_state": live,
            "stale": bool(live and locking.is_stale(live)),
            "lock_host": fleet.primary,
        })
        return
    if holder is None or live is None:
        output.stdout().print("unlocked")
        return
    output.stdout().print(output.literal(f"locked by {locking.describe(holder)}"))
    why = locking.explain(holder, live)
    if why:
        output.warn(why)
    if locking.is_stale(live):
        output.info(output.escape(f"take the lock over with: {locking.release_command(fleet.env_name)}"))


@app.command("acquire")
def acquire(
    ctx: typer.Context,
    env: EnvOpt = None,
    message: Annotated[str | None, typer.Option("--message", "-m", metavar="MESSAGE", help="Why.")] = None,
) -> None:
    """Take the deploy lock, to freeze deploys during maintenance for instance."""
    from opsctl import lifecycle, output
    from opsctl.deploy import locking
    from opsctl.deploy.fleet import Fleet, holder_info, new_token

    fleet = Fleet.open(load_config(ctx), env)
    fleet.acquire(new_token(), lambda: holder_info(None, message, "manual lock"), lock_wait=0)
    output.stdout().print(f"locked {fleet.env_name}; release it with: {locking.release_command(fleet.env_name)}",
                          markup=False)
    lifecycle.notify_lock(fleet, "took the deploy lock", message)


@app.command("release")
def release(
    ctx: typer.Context,
    env: EnvOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Release it even if its holder may still be running (another machine, a live pid).",
    )] = False,
) -> None:
    """Release the deploy lock: a manual lock, or one left by a process that is gone."""
    from opsctl import lifecycle, output
    from opsctl.deploy import locking
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import OpsctlError

    fleet = Fleet.open(load_config(ctx), env)
    holder = fleet.read_state(lock="status").holder
    if holder is None:
        output.stdout().print("was not locked")
        return
    live = locking.liveness(holder, locking.machine(), locking.local_process)
    if live in (locking.ALIVE, locking.ELSEWHERE, locking.UNKNOWN) and not force:
        running = ("its process is still running on this machine" if live == locking.ALIVE
                   else locking.explain(holder, live) or "opsctl cannot tell whether its holder is gone")
        raise OpsctlError(
            f"the deploy lock is held by {locking.describe(holder)}; {running}",
            hint=f"if you are sure that deploy is over: {locking.release_command(fleet.env_name, force=True)}",
        )
    result = fleet.state(lock="force_release")
    task = result.of("lock").get(fleet.primary)
    if not result.ok or task is None:
        raise OpsctlError(f"could not release the deploy lock: {result.failure_summary()}")
    held = task.result.get("released")
    text = f"released the lock held by {locking.describe(locking.Holder.read(held))}" if held else "was not locked"
    if held and locking.is_stale(live):
        text += " (its process was gone)"
    output.stdout().print(output.literal(text))
    if held:
        lifecycle.notify_lock(fleet, text, None)
