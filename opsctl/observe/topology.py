"""The app's pieces in one environment as a graph model, shared by `graph` and the dashboard.

Requests flow DNS -> load balancer -> target group -> hosts, where the per-host proxy passes them to
the HTTP services; "runs on" edges place each service on its hosts (dashed: a singleton, which runs
on one of them). AWS resources the app uses (RDS, queues, SES) sit in their own cluster.

The detailed model (the dashboard's) draws each host as a box holding its proxy and one node per
service placed there, so that a light can sit on every replica group of every host.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsctl.observe import lights

if TYPE_CHECKING:
    from opsctl.config.checks import EnvironmentReport
    from opsctl.config.models import Config


@dataclass
class Node:
    id: str
    label: str
    shape: str = "box"
    style: str | None = None
    cluster: str | None = None


@dataclass
class Edge:
    a: str
    b: str
    label: str | None = None
    dashed: bool = False


@dataclass
class Model:
    name: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)  # cluster id -> label, in order

    def node(self, node_id: str, label: str, **kwargs: Any) -> None:
        self.nodes.append(Node(node_id, label, **kwargs))

    def edge(self, a: str, b: str, label: str | None = None, dashed: bool = False) -> None:
        self.edges.append(Edge(a, b, label, dashed))


def dom_id(node_id: str) -> str:
    """An HTML/SVG id for a model id: readable, unique (a short hash), and safe in any attribute."""
    # No '-': Graphviz writes it as an entity in SVG attributes, which text search would miss.
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", node_id)[:40]
    return f"n_{slug}_{hashlib.sha1(node_id.encode()).hexdigest()[:6]}"


def build(config: Config, env_name: str, report: EnvironmentReport, detailed: bool = False) -> Model:
    env = config.environments[env_name]
    model = Model(f"{config.app}-{env_name}")
    hosts = list(report.inventory.hosts) if report.inventory else []
    proxy = env.load_balancer.proxy and bool(config.http_services())
    proxy_image = env.load_balancer.proxy_image if proxy else None
    entry = _hosts_and_services(model, config, report, hosts, proxy_image, detailed)
    _traffic(model, config, env_name, entry)
    _aws_resources(model, config, env_name)
    return model


def _hosts_and_services(
    model: Model, config: Config, report: EnvironmentReport, hosts: list[str], proxy_image: str | None,
    detailed: bool,
) -> list[str]:
    """Add hosts and services; return the nodes the target group sends traffic to."""
    proxy = proxy_image is not None
    entry: list[str] = []
    if detailed:
        for host in hosts:
            model.clusters[f"cluster_host:{host}"] = host
            if proxy:
                model.node(f"proxy@{host}", f"proxy\n{proxy_image}", shape="component", cluster=f"cluster_host:{host}")
        for name, service in config.services.items():
            for host in report.hosts_by_service.get(name, []):
                placement = "singleton" if service.singleton else f"x{service.replicas}"
                model.node(f"svc@{host}:{name}", f"{name} {placement}", style="rounded", cluster=f"cluster_host:{host}")
                if service.is_http:
                    if proxy:
                        model.edge(f"proxy@{host}", f"svc@{host}:{name}", f":{service.ingress_port}")
                    elif f"svc@{host}:{name}" not in entry:
                        entry.append(f"svc@{host}:{name}")
                    if proxy and f"proxy@{host}" not in entry:
                        entry.append(f"proxy@{host}")
        return entry
    for host in hosts:
        model.node(f"host:{host}", host, shape="ellipse")
    for name, service in config.services.items():
        placement = "singleton" if service.singleton else f"x{service.replicas} per host"
        label = f"{name}\n{config.image}\n{placement}" + (f"\nport {service.port}" if service.port else "")
        model.node(f"service:{name}", label, style="rounded")
        service_hosts = report.hosts_by_service.get(name, [])
        # A singleton runs on one host of those eligible; the graph shows where it may run.
        for host in service_hosts:
            model.edge(f"service:{name}", f"host:{host}", "runs on", dashed=service.singleton)
        if service.is_http:
            entry += [f"host:{h}" for h in service_hosts if f"host:{h}" not in entry]
            if proxy:
                model.edge("proxy", f"service:{name}", f":{service.ingress_port}")
    if proxy:
        model.node("proxy", f"proxy on each host\n{proxy_image}", shape="component")
    return entry


def _traffic(model: Model, config: Config, env_name: str, entry: list[str]) -> None:
    """Traffic enters through the target group named in the environment, or the one provision makes."""
    from opsctl.provision.tags import Owner
    from opsctl.provision.target import Target

    env = config.environments[env_name]
    aws = config.aws_for(env_name)
    target = Target(owner=Owner(config.app, env_name), aws=aws)
    tg_name = env.load_balancer.target_group or (target.target_group_name if aws.load_balancer else None)
    if not (tg_name and entry):
        return
    port = env.load_balancer.target_port or (aws.load_balancer.target_port if aws.load_balancer else None)
    model.node("aws:target_group", f"target group\n{tg_name}", shape="folder")
    for node_id in entry:
        model.edge("aws:target_group", node_id, f":{port}" if port else None)
    if aws.load_balancer:
        model.node("aws:load_balancer", f"load balancer\n{target.lb_name}\n{aws.load_balancer.scheme}")
        model.edge("aws:load_balancer", "aws:target_group", "HTTPS" if aws.load_balancer.certificate_arn else "HTTP")
        if target.alias_fqdn:
            model.node("aws:dns", f"DNS\n{target.alias_fqdn}", shape="note")
            model.edge("aws:dns", "aws:load_balancer", "alias")


def _aws_resources(model: Model, config: Config, env_name: str) -> None:
    from opsctl.provision.tags import Owner
    from opsctl.provision.target import Target

    aws = config.aws_for(env_name)
    target = Target(owner=Owner(config.app, env_name), aws=aws)
    resources: list[tuple[str, str]] = []
    if aws.rds:
        resources.append(("aws:rds", f"RDS PostgreSQL\n{target.rds_identifier}\n{aws.rds.instance_class}"))
    for key, queue in aws.queues.items():
        label = f"SQS\n{target.queue_name(key)}"
        if queue.dead_letter:
            label += f"\n(dead letters: {target.dlq_name(key)})"
        resources.append((f"aws:queue:{key}", label))
    if aws.ses and target.ses_domain:
        resources.append(("aws:ses", f"SES\n{target.ses_domain}"))
    if resources:
        model.clusters["cluster_aws"] = f"AWS {aws.region}"
        for node_id, label in resources:
            model.node(node_id, label, shape="cylinder", cluster="cluster_aws")


def node_lights(
    model: Model, hosts: Mapping[str, Sequence[Mapping[str, Any]]], unreachable: Sequence[str]
) -> dict[str, str]:
    """The light of each node (and host cluster) that status can see; AWS nodes get theirs from
    aws_status (boto3), read apart."""
    found: dict[str, list[str]] = {}

    def add(key: str, light: str) -> None:
        found.setdefault(key, []).append(light)

    for host, containers in hosts.items():
        for c in containers:
            light = str(c.get("light") or lights.UNKNOWN)
            service = str(c.get("service") or "")
            if c.get("role", "app") == "proxy":
                add("proxy", light)
                add(f"proxy@{host}", light)
            else:
                add(f"service:{service}", light)
                add(f"svc@{host}:{service}", light)
            add(f"host:{host}", light)
            add(f"cluster_host:{host}", light)
    result: dict[str, str] = {}
    ids = [n.id for n in model.nodes] + list(model.clusters)
    for node_id in ids:
        where = _host_of(node_id)
        if where is not None and where in unreachable:
            result[node_id] = lights.UNREACHABLE
        elif node_id in found:
            result[node_id] = lights.worst(found[node_id])
        elif node_id.startswith(("svc@", "proxy@", "service:", "proxy", "host:", "cluster_host:")):
            # Placed there by the config, yet nothing runs: a singleton elsewhere, or a stopped app.
            result[node_id] = lights.STOPPED
    return result


def _host_of(node_id: str) -> str | None:
    for prefix in ("host:", "cluster_host:", "proxy@", "svc@"):
        if node_id.startswith(prefix):
            return node_id[len(prefix):].split(":", 1)[0]
    return None
