"""`opsctl bootstrap`: prepare servers (or this machine) to run the app."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, load_config


def bootstrap(
    ctx: typer.Context,
    env: EnvOpt = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run the same playbooks against this machine.")
    ] = False,
    hosts: Annotated[str | None, typer.Option("--hosts", metavar="HOSTS", help="Comma-separated hosts (default: all).")] = None,
) -> None:
    """Install what the app's servers need (Docker engine, directories, network)."""
    from opsctl import output
    from opsctl.deploy.fleet import Fleet, local_fleet
    from opsctl.deploy.plan import select_hosts
    from opsctl.errors import OpsctlError
    from opsctl.validate import split_csv

    config = load_config(ctx)
    fleet = local_fleet(config, env) if local else Fleet.open(config, env)
    targets = select_hosts(fleet.inventory, split_csv(hosts))
    output.step(f"bootstrap {', '.join(targets)} for {config.app} ({fleet.env_name})")
    result = fleet.run(
        "bootstrap.yml",
        {"opsctl_targets": ",".join(targets), "opsctl_network": fleet.names.network},
        label="bootstrap",
    )
    if not result.ok:
        raise OpsctlError(f"bootstrap failed:\n{result.failure_summary()}")
    for host, task in result.of("engine").items():
        output.stdout().print(f"{host}: ready (Docker {str(task.result.get('stdout', '')).strip()})")
