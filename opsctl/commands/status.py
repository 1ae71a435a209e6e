"""`opsctl status`: what runs where."""

from __future__ import annotations

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config


def status(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Per host and service: running version, container state, health and uptime."""
    from opsctl import output
    from opsctl.deploy import ledger, render
    from opsctl.deploy.fleet import Fleet
    from opsctl.deploy.inspect import fleet_status

    fleet = Fleet.open(load_config(ctx), env)
    hosts, entries, unreachable = fleet_status(fleet)
    now = ledger.current(entries)
    if json_:
        output.emit_json({
            "env": fleet.env_name,
            "current": now.to_json() if now else None,
            "hosts": hosts,
            "unreachable": unreachable,
        })
    else:
        render.status(hosts, now)
        for host in unreachable:
            output.warn(f"{host} did not answer")
    if unreachable:
        raise typer.Exit(1)
