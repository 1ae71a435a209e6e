"""`opsctl logs SERVICE`: container logs from the fleet."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl import completion
from opsctl.commands.common import EnvOpt, load_config


def logs(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(
            metavar="SERVICE", help="Service name, e.g. web.", autocompletion=completion.services
        )],
    env: EnvOpt = None,
    hosts: Annotated[str | None, typer.Option("--hosts", metavar="HOSTS", help="Comma-separated hosts.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", metavar="LINES", help="Lines per container.", min=1, max=100000)] = 100,
) -> None:
    """Show the recent logs of a service's containers on each host."""
    from opsctl import output
    from opsctl.deploy.fleet import Fleet
    from opsctl.deploy.plan import select_hosts, select_services
    from opsctl.errors import OpsctlError
    from opsctl.validate import split_csv

    fleet = Fleet.open(load_config(ctx), env)
    select_services(fleet.config, [service])
    targets = select_hosts(fleet.inventory, split_csv(hosts))
    result = fleet.run(
        "logs.yml",
        {"opsctl_targets": ",".join(targets), "opsctl_service": service, "opsctl_lines": lines},
        label="logs",
        quiet=True,
    )
    found = result.of("logs")
    for host in targets:
        task = found.get(host)
        if task is None or task.status != "ok":
            output.warn(f"{host}: {task.result.get('msg') if task else 'no answer'}")
            continue
        for name, text in (task.result.get("logs") or {}).items():
            output.stdout().print(f"[bold]== {host} {name}[/]")
            output.stdout().out(text.rstrip("\n"), highlight=False)
    if result.failures():
        raise OpsctlError(f"some hosts did not answer: {result.failure_summary()}")
