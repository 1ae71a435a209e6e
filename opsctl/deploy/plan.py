"""Rollout planning: which hosts, in which batches, running which containers. Pure, no I/O."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from opsctl.config.inventory import Inventory
from opsctl.config.models import Config, Environment, Service
from opsctl.deploy.names import Names
from opsctl.errors import UsageError
from opsctl.validate import check_host


@dataclass(frozen=True)
class Target:
    """What one rollout puts on the hosts: a release number, its version and image."""

    release: int
    version: str
    image: str  # reference the containers run: repo:tag, or repo@sha256:... once resolved
    config_hash: str


@dataclass
class RolloutPlan:
    app: str
    env: str
    hosts: list[str]  # targets, inventory order
    all_hosts: list[str]  # the whole environment (the ledger lives on all of them)
    primary: str  # holds the lock; runs the release step
    batches: list[list[str]]
    services: list[str]
    placement: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> service -> mode

    @property
    def names(self) -> Names:
        return Names(self.app, self.env)


def batch_sizes(host_count: int, batch: int | str) -> list[int]:
    """Split `host_count` hosts into batches of `batch` hosts, or of a percentage (rounded up)."""
    if host_count <= 0:
        return []
    if isinstance(batch, str) and batch.endswith("%"):
        size = max(1, math.ceil(host_count * int(batch[:-1]) / 100))
    else:
        size = max(1, int(batch))
    sizes = [size] * (host_count // size)
    if host_count % size:
        sizes.append(host_count % size)
    return sizes


def select_hosts(inventory: Inventory, wanted: list[str], skipped: list[str] | None = None) -> list[str]:
    """The target hosts, inventory order: `wanted` (default all) minus `skipped` (known down)."""
    skipped = skipped or []
    for host in [*wanted, *skipped]:
        check_host(host)
    unknown = [h for h in dict.fromkeys([*wanted, *skipped]) if h not in inventory.hosts]
    if unknown:
        raise UsageError(
            f"unknown host(s) {', '.join(unknown)}; {inventory.path} has: {', '.join(inventory.hosts)}"
        )
    both = [h for h in wanted if h in skipped]
    if both:
        raise UsageError(f"{', '.join(both)}: given to both --hosts and --skip-hosts; name each host once")
    if set(inventory.hosts) <= set(skipped):
        raise UsageError(f"--skip-hosts names every host of {inventory.path}: nothing would be deployed")
    lock_host = min(inventory.hosts)
    if lock_host in skipped:
        raise UsageError(
            f"{lock_host} cannot be skipped: it holds the deploy lock (the smallest name in {inventory.path}); "
            "bring it back first"
        )
    return [h for h in inventory.hosts if (not wanted or h in wanted) and h not in skipped]


def select_services(config: Config, wanted: list[str]) -> list[str]:
    unknown = [s for s in wanted if s not in config.services]
    if unknown:
        raise UsageError(
            f"unknown service(s) {', '.join(unknown)}; opsctl.yml has: {', '.join(config.services)}"
        )
    return wanted or list(config.services)


def plan_rollout(
    config: Config,
    env_name: str,
    env: Environment,
    inventory: Inventory,
    hosts: list[str],
    services: list[str],
    batch: int | str | None = None,
    skipped: list[str] | None = None,
) -> RolloutPlan:
    if not inventory.hosts:
        raise UsageError(f"inventory {inventory.path} has no hosts")
    # A skipped host is known down: nothing is read from or written to it, its ledger included.
    all_hosts = [h for h in inventory.hosts if h not in (skipped or [])]
    plan = RolloutPlan(
        app=config.app,
        env=env_name,
        hosts=hosts,
        all_hosts=all_hosts,
        primary=min(all_hosts),  # the lock host, whatever the inventory order (see Fleet.primary)
        batches=[],
        services=services,
    )
    sizes = batch_sizes(len(hosts), env.rollout.batch if batch is None else batch)
    if env.load_balancer.target_group and len(hosts) > 1 and len(sizes) == 1 and len(hosts) == len(all_hosts):
        # Each host leaves the target group during its swap: all at once would leave it empty.
        raise UsageError(
            f"environments.{env_name}.rollout would swap all {len(hosts)} hosts in one batch, taking every "
            f"one out of target group {env.load_balancer.target_group} at once; use a smaller batch"
        )
    start = 0
    for size in sizes:
        plan.batches.append(hosts[start : start + size])
        start += size
    for host in hosts:
        plan.placement[host] = {}
    for name in services:
        service = config.services[name]
        eligible = inventory.hosts_in(service.groups)
        home = eligible[0] if service.singleton and eligible else None
        for host in hosts:
            if host not in eligible:
                mode = "absent"
            elif service.singleton:
                mode = "singleton" if host == home else "absent"
            else:
                mode = "http" if service.is_http else "process"
            plan.placement[host][name] = mode
    return plan


def config_hash(config: Config, env_name: str, clear: dict[str, str], secret_names: list[str]) -> str:
    """Identifies the runtime config of a release (never the secret values, only their names)."""
    material = {
        "services": {n: s.model_dump(mode="json") for n, s in config.services.items()},
        "release": config.release.model_dump(mode="json") if config.release else None,
        "clear": clear,
        "secret_names": sorted(secret_names),
        "env": env_name,
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def render_env_file(clear: dict[str, str], secrets: dict[str, str]) -> str:
    # docker --env-file takes VAR=VAL lines literally (no quotes, no expansion); values were checked
    # for newlines when the config was loaded.
    lines = [f"{k}={v}" for k, v in sorted({**clear, **secrets}.items())]
    return "\n".join(lines) + "\n"


def service_specs(
    config: Config,
    plan: RolloutPlan,
    host: str,
    target: Target,
    run: str,
    render_upstream: Any,
    ingress: bool = False,
) -> list[dict[str, Any]]:
    """The `services` argument of the opsctl_swap module for one host; `ingress`: behind the
    server's shared ingress (its upstream file lives there), else behind the app's own proxy."""
    specs = []
    for name in plan.services:
        service: Service = config.services[name]
        mode = plan.placement[host][name]
        names = [plan.names.container(name, target.release, run, i) for i in range(1, service.replicas + 1)]
        spec: dict[str, Any] = {
            "name": name,
            "mode": mode,
            "replicas": service.replicas,
            "command": service.command,
            "port": service.port,
            "ingress_port": service.ingress_port,
            "stop_timeout": service.stop_timeout,
            "health": service.healthcheck.model_dump(mode="json"),
            "names": names if mode != "absent" else [],
        }
        if service.is_http:
            names_ = plan.names
            spec["upstream_file"] = names_.ingress_upstream_file(name) if ingress else names_.upstream_file(name)
            spec["route"] = {"host": service.hosts[0] if service.hosts else None, "path": service.path,
                             "tls": service.tls is not None}
            if mode == "http":
                spec["upstream_conf"] = render_upstream(
                    upstream=names_.upstream_name(name),
                    servers=[f"{n}:{service.port}" for n in names],
                    listen=None if ingress else service.ingress_port,
                )
        specs.append(spec)
    return specs


def proxy_ports(config: Config, services: list[str]) -> list[int]:
    return sorted({config.services[s].ingress_port for s in services if config.services[s].is_http})
