"""`opsctl check`: validate opsctl.yml and the inventories it names."""

from __future__ import annotations

import typer

from opsctl import output
from opsctl.commands.common import EnvOpt, JsonOpt, load_config
from opsctl.errors import ConfigError


def check(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Validate opsctl.yml and its inventories; list every error (exit 1) or print a summary."""
    # With -e ENV: that one environment, plus the secrets a deploy reads and build's Dockerfile.
    # Imported here so that `opsctl --help` does not pay for pydantic and Rich tables.
    from rich.table import Table

    from opsctl.config.checks import check_environments, readiness_problems

    config = load_config(ctx)
    only = [config.environment(env)[0]] if env else None
    reports, problems = check_environments(config, only, notice=output.info)
    if only:
        problems += readiness_problems(config, only[0])
    if problems:
        raise ConfigError(problems)
    if json_:
        output.emit_json(
            {
                "ok": True,
                "app": config.app,
                "image": config.image,
                "services": {
                    name: {"port": s.port, "replicas": s.replicas, "singleton": s.singleton}
                    for name, s in config.services.items()
                },
                "environments": {
                    r.name: sorted(r.inventory.hosts) if r.inventory else [] for r in reports
                },
            }
        )
        return
    console = output.stdout()
    console.print(f"[bold]{config.app}[/]  image {config.image}  ({config.source})")
    services = Table("service", "command", "port", "replicas/host", "placement", box=None)
    for name, s in config.services.items():
        placement = "singleton" if s.singleton else ("groups: " + ",".join(s.groups) if s.groups else "all hosts")
        services.add_row(
            name,
            " ".join(s.command) if s.command else "(image default)",
            str(s.port or "-"),
            str(s.replicas),
            placement,
        )
    console.print(services)
    envs = Table("environment", "inventory", "hosts", "tag", "batch", box=None)
    for r in reports:
        settings = config.environments[r.name]
        hosts = r.inventory.hosts if r.inventory else {}
        envs.add_row(r.name, ", ".join(settings.inventory), f"{len(hosts)}: {', '.join(hosts)}",
                     settings.tag or "-", str(settings.rollout.batch))
    console.print(envs)
    if config.release:
        console.print("release: " + " ".join(config.release.command))
    console.print("[green]config OK[/]")
