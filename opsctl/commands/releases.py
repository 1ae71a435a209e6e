"""`opsctl releases`: the release ledger kept on the fleet."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config


def releases(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """List the environment's numbered releases, newest first."""
    from opsctl import output
    from opsctl.deploy import ledger, render
    from opsctl.deploy.fleet import Fleet

    fleet = Fleet.open(load_config(ctx), env)
    entries, _ = fleet.read_ledger()
    if json_:
        now = ledger.current(entries)
        output.emit_json({
            "env": fleet.env_name,
            "current": now.number if now else None,
            "releases": [r.to_json() for r in reversed(entries)],
        })
    else:
        render.releases(entries)
