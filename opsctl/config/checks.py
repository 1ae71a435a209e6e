"""Checks that need more than one file: the config against the inventories it names."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsctl.config.inventory import Inventory, load_inventory
from opsctl.config.models import Config
from opsctl.errors import ConfigError


@dataclass
class EnvironmentReport:
    name: str
    inventory: Inventory | None
    hosts_by_service: dict[str, list[str]] = field(default_factory=dict)


def check_environments(config: Config) -> tuple[list[EnvironmentReport], list[str]]:
    """Load every environment's inventory; return per-environment host plans and all problems."""
    reports: list[EnvironmentReport] = []
    problems: list[str] = []
    for env_name, env in config.environments.items():
        report = EnvironmentReport(name=env_name, inventory=None)
        reports.append(report)
        try:
            inventory = load_inventory(config.path(env.inventory))
        except ConfigError as exc:
            where = config.where("environments", env_name, "inventory")
            problems += [f"{where}: environments.{env_name}.inventory: {p}" for p in exc.problems]
            continue
        report.inventory = inventory
        if not inventory.hosts:
            problems.append(
                f"{config.where('environments', env_name, 'inventory')}: environments.{env_name}.inventory: "
                f"inventory {inventory.path} has no hosts"
            )
        for service_name, service in config.services.items():
            unknown = [g for g in service.groups if g != "all" and g not in inventory.groups]
            if unknown:
                where = config.where("services", service_name, "groups")
                problems.append(
                    f"{where}: services.{service_name}.groups: group(s) {', '.join(unknown)} not in "
                    f"the {env_name} inventory ({inventory.path})"
                )
            report.hosts_by_service[service_name] = inventory.hosts_in(service.groups)
    return reports, problems


def environment_hosts(config: Config, env_name: str) -> EnvironmentReport:
    """One environment's inventory and hosts per service, or a ConfigError."""
    env = config.environments[env_name]
    inventory = load_inventory(config.path(env.inventory))
    report = EnvironmentReport(name=env_name, inventory=inventory)
    for service_name, service in config.services.items():
        report.hosts_by_service[service_name] = inventory.hosts_in(service.groups)
    return report
