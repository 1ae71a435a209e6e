"""`opsctl graph`: the app's pieces in one environment, as a Graphviz DOT graph.

Requests flow DNS -> load balancer -> target group -> hosts, where the per-host proxy passes them to
the HTTP services; dashed/solid "runs on" edges place each service on its hosts (dashed: a
singleton, which runs on one of them). AWS resources the app uses (RDS, queues, SES) sit in their
own cluster. Render with `opsctl graph | dot -Tsvg > graph.svg`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from opsctl.commands.common import EnvOpt, load_config

if TYPE_CHECKING:
    from opsctl.config.checks import EnvironmentReport
    from opsctl.config.models import Config


def _q(text: str) -> str:
    """A DOT double-quoted ID; names come from user files, so quotes and backslashes are escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Dot:
    def __init__(self, name: str) -> None:
        self.lines = [f"digraph {_q(name)} {{", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']

    def node(self, node_id: str, label: str, indent: str = "  ", **attrs: str) -> None:
        extra = "".join(f", {key}={_q(value)}" for key, value in attrs.items())
        self.lines.append(f"{indent}{_q(node_id)} [label={_q(label)}{extra}];")

    def edge(self, a: str, b: str, label: str | None = None, **attrs: str) -> None:
        all_attrs = ({"label": label} if label else {}) | attrs
        extra = ", ".join(f"{key}={_q(value)}" for key, value in all_attrs.items())
        self.lines.append(f"  {_q(a)} -> {_q(b)}" + (f" [{extra}]" if extra else "") + ";")

    def text(self) -> str:
        return "\n".join([*self.lines, "}"]) + "\n"


def to_dot(config: Config, env_name: str, report: EnvironmentReport) -> str:
    from opsctl.provision.tags import Owner
    from opsctl.provision.target import Target

    env = config.environments[env_name]
    aws = config.aws_for(env_name)
    target = Target(owner=Owner(config.app, env_name), aws=aws)
    dot = _Dot(f"{config.app}-{env_name}")

    hosts = list(report.inventory.hosts) if report.inventory else []
    for host in hosts:
        dot.node(f"host:{host}", host, shape="ellipse")

    http_hosts: list[str] = []
    for name, service in config.services.items():
        placement = "singleton" if service.singleton else f"x{service.replicas} per host"
        label = f"{name}\n{config.image}\n{placement}"
        if service.port:
            label += f"\nport {service.port}"
        dot.node(f"service:{name}", label, style="rounded")
        service_hosts = report.hosts_by_service.get(name, [])
        # A singleton runs on one host of those eligible; the graph shows where it may run.
        for host in service_hosts:
            dot.edge(f"service:{name}", f"host:{host}", "runs on", style="dashed" if service.singleton else "solid")
        if service.is_http:
            http_hosts += [h for h in service_hosts if h not in http_hosts]
            if env.load_balancer.proxy:
                dot.edge("proxy", f"service:{name}", f":{service.ingress_port}")

    if env.load_balancer.proxy and config.http_services():
        dot.node("proxy", f"proxy on each host\n{env.load_balancer.proxy_image}", shape="component")

    # Traffic enters through the target group named in the environment, or the one provision makes.
    tg_name = env.load_balancer.target_group or (target.target_group_name if aws.load_balancer else None)
    if tg_name and http_hosts:
        port = env.load_balancer.target_port or (aws.load_balancer.target_port if aws.load_balancer else None)
        dot.node("aws:target_group", f"target group\n{tg_name}", shape="folder")
        for host in http_hosts:
            dot.edge("aws:target_group", f"host:{host}", f":{port}" if port else None)
        if aws.load_balancer:
            dot.node("aws:load_balancer", f"load balancer\n{target.lb_name}\n{aws.load_balancer.scheme}")
            dot.edge("aws:load_balancer", "aws:target_group", "HTTPS" if aws.load_balancer.certificate_arn else "HTTP")
            if target.alias_fqdn:
                dot.node("aws:dns", f"DNS\n{target.alias_fqdn}", shape="note")
                dot.edge("aws:dns", "aws:load_balancer", "alias")

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
        dot.lines.append(f"  subgraph {_q('cluster_aws')} {{")
        dot.lines.append(f"    label={_q(f'AWS {aws.region}')};")
        for node_id, label in resources:
            dot.node(node_id, label, indent="    ", shape="cylinder")
        dot.lines.append("  }")
    return dot.text()


def graph(ctx: typer.Context, env: EnvOpt = None) -> None:
    """Print the services, hosts and AWS resources of an environment as a graph (DOT)."""
    import sys

    from opsctl.config.checks import environment_hosts

    config = load_config(ctx)
    env_name, _ = config.environment(env)
    sys.stdout.write(to_dot(config, env_name, environment_hosts(config, env_name)))
