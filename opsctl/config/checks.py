"""Checks that need more than one file: the config against the inventories it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opsctl.config.inventory import Inventory, PendingInventory, shown
from opsctl.config.models import Config
from opsctl.errors import ConfigError


@dataclass
class EnvironmentReport:
    name: str
    inventory: Inventory | None
    hosts_by_service: dict[str, list[str]] = field(default_factory=dict)


def hidden_names(config: Config) -> set[str]:
    """Secret names an inventory script has no business seeing in its environment."""
    names = set(config.env.secret)
    for env in config.environments.values():
        names.update(env.env.secret)
    if config.registry:
        names.add(config.registry.password_env)
    return names


def check_environments(
    config: Config, only: list[str] | None = None, notice: Callable[[str], None] | None = None
) -> tuple[list[EnvironmentReport], list[str]]:
    """Load the environments' inventories (all at once); return host plans and every problem."""
    names = only if only is not None else list(config.environments)
    pending: dict[str, PendingInventory | None] = {}
    problems: list[str] = []
    for env_name in names:
        missing = _missing_sources(config, env_name)
        problems += missing
        pending[env_name] = None if missing else PendingInventory(
            config.inventory_paths(env_name), hidden_names(config)
        )
    reports: list[EnvironmentReport] = []
    for env_name in names:
        report = EnvironmentReport(name=env_name, inventory=None)
        reports.append(report)
        loading = pending[env_name]
        if loading is None:
            continue
        try:
            report.inventory = loading.result(notice)
        except ConfigError as exc:
            problems += exc.problems
            continue
        problems += _placement(config, report)
    return reports, problems


def readiness_problems(config: Config, env_name: str) -> list[str]:
    """What `opsctl check -e ENV` adds: the secrets a deploy reads are set, the Dockerfile exists."""
    from opsctl.config.secrets import secret_problems, secrets_needed

    problems = [
        f"{config.where(*_secret_key(config, env_name, name))}: {message}"
        for name, purpose in secrets_needed(config, env_name, "deploy").items()
        for message in secret_problems(config, {name: purpose}, env_name)
    ]
    dockerfile = config.path(config.build.dockerfile)
    if not dockerfile.is_file():
        problems.append(f"{config.where('build', 'dockerfile')}: build.dockerfile: {shown(dockerfile)} does not "
                        "exist ('opsctl build' needs it)")
    return sorted(problems, key=lambda p: int(p.split(":")[1]) if p.split(":")[1].isdigit() else 0)


def _secret_key(config: Config, env_name: str, name: str) -> tuple[str | int, ...]:
    """Where a secret's name is written in opsctl.yml, for the error's line."""
    if config.registry is not None and name == config.registry.password_env:
        return ("registry", "password_env")
    env_secrets = config.environments[env_name].env.secret
    if name in env_secrets:
        return ("environments", env_name, "env", "secret", env_secrets.index(name))
    return ("env", "secret", config.env.secret.index(name)) if name in config.env.secret else ("env",)


def environment_hosts(
    config: Config, env_name: str, notice: Callable[[str], None] | None = None
) -> EnvironmentReport:
    """One environment's inventory and hosts per service, or a ConfigError listing every problem."""
    reports, problems = check_environments(config, [env_name], notice)
    if problems:
        raise ConfigError(problems)
    return reports[0]


def _missing_sources(config: Config, env_name: str) -> list[str]:
    where = config.where("environments", env_name, "inventory")
    return [
        f"{where}: environments.{env_name}.inventory: {shown(path)}: no such file or directory"
        for path in config.inventory_paths(env_name)
        if not path.exists()
    ]


def _placement(config: Config, report: EnvironmentReport) -> list[str]:
    """Every service needs its groups to exist and hold hosts; the inventory needs hosts at all."""
    inventory = report.inventory
    assert inventory is not None
    problems: list[str] = []
    if not inventory.hosts:
        where = config.where("environments", report.name, "inventory")
        problems.append(f"{where}: environments.{report.name}.inventory: inventory {inventory.describe()} "
                        "has no hosts")
    for service_name, service in config.services.items():
        where = config.where("services", service_name, "groups")
        for group in service.groups:
            if group == "all":
                continue
            if group not in inventory.groups:
                problems.append(f"{where}: services.{service_name}.groups: group {group} is not in the "
                                f"{report.name} inventory ({inventory.describe()})")
            elif not inventory.groups[group] and inventory.hosts:
                problems.append(f"{where}: services.{service_name}.groups: group {group} of the "
                                f"{report.name} inventory ({inventory.describe()}) has no hosts")
        report.hosts_by_service[service_name] = inventory.hosts_in(service.groups)
    return problems
