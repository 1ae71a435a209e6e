"""ELBv2: the application load balancer, the web service's target group, and the listeners.
Read current -> diff -> apply.

Listeners on ports 80 and 443 of opsctl's load balancer belong to opsctl; others are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from opsctl.config.aws_models import AwsConfig
from opsctl.errors import OpsctlError
from opsctl.provision.plan import UNKNOWN, Action, AttrChange, Change, Observed, diff_observed
from opsctl.provision.session import Aws, aws_errors, error_code
from opsctl.provision.tags import Owner, Ownership, from_list
from opsctl.provision.target import Target

LOAD_BALANCER = "elb.load_balancer"
TARGET_GROUP = "elb.target_group"
LISTENER = "elb.listener"
KINDS = (TARGET_GROUP, LOAD_BALANCER, LISTENER)

_LB_REPLACE_ON = ("scheme",)
_TG_REPLACE_ON = ("protocol", "port", "vpc_id", "target_type")


@dataclass
class ElbState:
    load_balancer: Observed | None = None
    target_group: Observed | None = None
    listeners: dict[int, Observed] = field(default_factory=dict)
    vpc_id: str = ""
    default_subnets: list[str] = field(default_factory=list)


def read(aws: Aws, target: Target) -> ElbState:
    state = ElbState()
    lb_config = target.aws.load_balancer
    if lb_config is not None:
        if lb_config.subnet_ids:
            state.vpc_id = aws.vpc_of_subnet(lb_config.subnet_ids[0])
        else:
            state.vpc_id, state.default_subnets = aws.default_vpc
    state.load_balancer = read_load_balancer(aws, target.lb_name)
    state.target_group = read_target_group(aws, target.target_group_name)
    if state.load_balancer is not None:
        state.listeners = read_listeners(aws, state.load_balancer)
    return state


def _tags(aws: Aws, arn: str) -> dict[str, str]:
    descriptions = aws.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    return from_list(descriptions[0].get("Tags", []) if descriptions else [])  # type: ignore[arg-type]


def read_load_balancer(aws: Aws, name: str) -> Observed | None:
    with aws_errors(f"load balancer {name}", "describe"):
        try:
            lb = aws.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except ClientError as exc:
            if error_code(exc) == "LoadBalancerNotFound":
                return None
            raise
        tags = _tags(aws, lb["LoadBalancerArn"])
    return Observed(
        attrs={
            "type": lb.get("Type"),
            "scheme": lb.get("Scheme"),
            "subnets": sorted(az["SubnetId"] for az in lb.get("AvailabilityZones", [])),
            "security_groups": sorted(lb.get("SecurityGroups", [])),
        },
        tags=tags,
        ids={
            "arn": lb["LoadBalancerArn"],
            "dns_name": lb.get("DNSName", ""),
            "zone_id": lb.get("CanonicalHostedZoneId", ""),
        },
    )


def read_target_group(aws: Aws, name: str) -> Observed | None:
    with aws_errors(f"target group {name}", "describe"):
        try:
            tg = aws.elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]
        except ClientError as exc:
            if error_code(exc) == "TargetGroupNotFound":
                return None
            raise
        arn = tg["TargetGroupArn"]
        attributes = {
            a["Key"]: a["Value"]
            for a in aws.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        }
        tags = _tags(aws, arn)
    return Observed(
        attrs={
            "protocol": tg.get("Protocol"),
            "port": tg.get("Port"),
            "vpc_id": tg.get("VpcId"),
            "target_type": tg.get("TargetType"),
            "health_check_path": tg.get("HealthCheckPath"),
            "health_check_interval": tg.get("HealthCheckIntervalSeconds"),
            "health_check_timeout": tg.get("HealthCheckTimeoutSeconds"),
            "healthy_threshold": tg.get("HealthyThresholdCount"),
            "unhealthy_threshold": tg.get("UnhealthyThresholdCount"),
            "matcher": tg.get("Matcher", {}).get("HttpCode"),
            "deregistration_delay": int(attributes.get("deregistration_delay.timeout_seconds", 300)),
        },
        tags=tags,
        ids={"arn": arn},
    )


def read_listeners(aws: Aws, lb: Observed) -> dict[int, Observed]:
    out: dict[int, Observed] = {}
    with aws_errors(f"listeners of load balancer {lb.ids['arn']}", "describe"):
        for page in aws.elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.ids["arn"]):
            for listener in page.get("Listeners", []):
                port = int(listener.get("Port", 0))
                if port not in (80, 443):
                    continue
                certs = listener.get("Certificates", [])
                out[port] = Observed(
                    attrs={
                        "protocol": listener.get("Protocol"),
                        "default_action": describe_actions(listener.get("DefaultActions", [])),  # type: ignore[arg-type]
                        "certificate_arn": certs[0].get("CertificateArn") if certs else None,
                        "ssl_policy": listener.get("SslPolicy"),
                    },
                    # The load balancer's owner owns its listeners on 80 and 443.
                    tags=lb.tags,
                    ids={"arn": listener["ListenerArn"]},
                )
    return out


def describe_actions(actions: list[dict[str, Any]]) -> str:
    """A listener's default actions in one comparable line: 'forward NAME' or 'redirect HTTPS:443'."""
    parts = []
    for action in sorted(actions, key=lambda a: int(a.get("Order", 0))):
        if action.get("Type") == "forward":
            arns = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else []
            arns += [t["TargetGroupArn"] for t in action.get("ForwardConfig", {}).get("TargetGroups", [])]
            names = sorted({arn.split("/")[-2] if arn.count("/") >= 2 else arn for arn in arns})
            parts.append("forward " + ",".join(names))
        elif action.get("Type") == "redirect":
            config = action.get("RedirectConfig", {})
            parts.append(f"redirect {config.get('Protocol', '#{protocol}')}:{config.get('Port', '#{port}')}")
        else:
            parts.append(str(action.get("Type")))
    return "; ".join(parts)


def desired(target: Target, vpc_id: str, default_subnets: list[str]) -> dict[str, Any]:
    """Kind (or listener port) -> desired attributes, for whatever the config asks for."""
    lb = target.aws.load_balancer
    if lb is None:
        return {}
    hc = lb.health_check
    out: dict[str, Any] = {
        LOAD_BALANCER: {
            "type": "application",
            "scheme": lb.scheme,
            "subnets": sorted(lb.subnet_ids or default_subnets),
        },
        TARGET_GROUP: {
            "protocol": "HTTP",
            "port": lb.target_port,
            "vpc_id": vpc_id,
            "target_type": lb.target_type,
            "health_check_path": target.health_path,
            "health_check_interval": hc.interval_seconds,
            "health_check_timeout": hc.timeout_seconds,
            "healthy_threshold": hc.healthy_threshold,
            "unhealthy_threshold": hc.unhealthy_threshold,
            "matcher": hc.matcher,
            "deregistration_delay": lb.deregistration_delay,
        },
    }
    if lb.security_group_ids:
        out[LOAD_BALANCER]["security_groups"] = sorted(lb.security_group_ids)
    forward = f"forward {target.target_group_name}"
    if lb.certificate_arn:
        out["80"] = {"protocol": "HTTP", "default_action": "redirect HTTPS:443"}
        out["443"] = {
            "protocol": "HTTPS",
            "default_action": forward,
            "certificate_arn": lb.certificate_arn,
            "ssl_policy": lb.ssl_policy,
        }
    else:
        out["80"] = {"protocol": "HTTP", "default_action": forward}
    return out


def diff(
    target: Target, state: ElbState, *, destroy: bool = False, pending: Iterable[str] = ()
) -> list[Change]:
    want = {} if destroy else desired(target, state.vpc_id, state.default_subnets)
    owner = target.owner
    tg = diff_observed(
        TARGET_GROUP,
        target.target_group_name,
        desired=want.get(TARGET_GROUP),
        observed=state.target_group,
        owner=owner,
        replace_on=_TG_REPLACE_ON,
    )
    lb = diff_observed(
        LOAD_BALANCER,
        target.lb_name,
        desired=want.get(LOAD_BALANCER),
        observed=state.load_balancer,
        owner=owner,
        replace_on=_LB_REPLACE_ON,
    )
    changes = [tg, lb]
    for port in (80, 443):
        listener = diff_observed(
            LISTENER,
            f"{target.lb_name}:{port}",
            desired=want.get(str(port)),
            observed=state.listeners.get(port),
            owner=owner,
        )
        listener.desired["port"] = port
        if listener.action is Action.NOOP and listener.desired.get("protocol"):
            _follow_replacements(listener, lb, tg)
        changes.append(listener)
    return changes


def _follow_replacements(listener: Change, lb: Change, tg: Change) -> None:
    """A listener unchanged in itself still changes when what it hangs on is replaced."""
    if lb.action is Action.REPLACE:
        listener.action = Action.CREATE
        listener.note = "recreated with the load balancer"
        listener.attrs = [AttrChange(k, None, v) for k, v in listener.desired.items() if k != "port"]
    elif tg.action is Action.REPLACE and listener.desired.get("default_action", "").startswith("forward"):
        listener.action = Action.UPDATE
        listener.note = "forwards to the replaced target group"
        listener.attrs = [AttrChange("target_group_arn", listener.ids.get("arn") and "(old)", UNKNOWN)]


def apply(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    from opsctl.provision import elb_apply  # it reads through this module

    if change.kind == LOAD_BALANCER:
        elb_apply.load_balancer(aws, target, change, progress)
    elif change.kind == TARGET_GROUP:
        elb_apply.target_group(aws, target, change, progress)
    elif change.kind == LISTENER:
        elb_apply.listener(aws, target, change)
    else:
        raise ValueError(change.kind)


def target_group_arn(aws_config: AwsConfig, app: str, env: str) -> str:
    """The ARN of the web service's target group that `opsctl provision` made for app/env.

    For deploy, which deregisters each host before its swap and registers it after.
    """
    target = Target(owner=Owner(app, env), aws=aws_config)
    observed = read_target_group(Aws(aws_config), target.target_group_name)
    if observed is None:
        raise OpsctlError(
            f"target group {target.target_group_name} does not exist",
            hint=f"create it with 'opsctl provision apply -e {env}'",
        )
    if target.owner.ownership(observed.tags) is not Ownership.OURS:
        raise OpsctlError(
            f"target group {target.target_group_name} was not made by opsctl for {app}/{env} "
            f"({target.owner.describe_foreign(observed.tags)})",
            hint="name the target group by ARN in environments.<env>.load_balancer.target_group",
        )
    return observed.ids["arn"]
