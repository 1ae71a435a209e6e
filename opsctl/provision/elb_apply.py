"""ELBv2 apply: the API calls that carry out one planned change of the load balancer, the target
group or a listener (elb.py reads and diffs them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError
from opsctl.provision import elb
from opsctl.provision.plan import Action, Change
from opsctl.provision.session import Aws, aws_errors
from opsctl.provision.target import Target

if TYPE_CHECKING:
    from mypy_boto3_elbv2.type_defs import ActionTypeDef

_TG_MODIFY = {
    "health_check_path": "HealthCheckPath",
    "health_check_interval": "HealthCheckIntervalSeconds",
    "health_check_timeout": "HealthCheckTimeoutSeconds",
    "healthy_threshold": "HealthyThresholdCount",
    "unhealthy_threshold": "UnhealthyThresholdCount",
}


def load_balancer(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    api = aws.elbv2
    if change.action in (Action.DELETE, Action.REPLACE):
        with aws_errors(f"load balancer {name}", "delete"):
            api.delete_load_balancer(LoadBalancerArn=change.ids["arn"])
            progress(f"waiting for load balancer {name} to be deleted")
            api.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[change.ids["arn"]])
    if change.action in (Action.CREATE, Action.REPLACE):
        want = change.desired
        params: dict[str, Any] = {}
        if want.get("security_groups"):
            params["SecurityGroups"] = want["security_groups"]
        with aws_errors(f"load balancer {name}", "create"):
            arn = api.create_load_balancer(
                Name=name,
                Subnets=want["subnets"],
                Scheme=want["scheme"],
                Type="application",
                IpAddressType="ipv4",
                Tags=target.owner.tag_list(),
                **params,
            )["LoadBalancers"][0]["LoadBalancerArn"]
            progress(f"waiting for load balancer {name} to be active")
            api.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn])
    elif change.action is Action.UPDATE:
        changed = {a.name: a.new for a in change.attrs}
        with aws_errors(f"load balancer {name}", "update"):
            if "subnets" in changed:
                api.set_subnets(LoadBalancerArn=change.ids["arn"], Subnets=changed["subnets"])
            if "security_groups" in changed:
                api.set_security_groups(
                    LoadBalancerArn=change.ids["arn"], SecurityGroups=changed["security_groups"]
                )


def target_group(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    api = aws.elbv2
    if change.action in (Action.DELETE, Action.REPLACE):
        with aws_errors(f"target group {name}", "delete"):
            if change.action is Action.REPLACE:
                # A target group in use cannot go; its listeners are re-pointed by their own changes.
                _delete_listeners_forwarding_to(aws, target, change.ids["arn"], progress)
            api.delete_target_group(TargetGroupArn=change.ids["arn"])
    if change.action in (Action.CREATE, Action.REPLACE):
        want = change.desired
        with aws_errors(f"target group {name}", "create"):
            arn = api.create_target_group(
                Name=name,
                Protocol="HTTP",
                Port=want["port"],
                VpcId=want["vpc_id"],
                TargetType=want["target_type"],
                HealthCheckProtocol="HTTP",
                HealthCheckPath=want["health_check_path"],
                HealthCheckIntervalSeconds=want["health_check_interval"],
                HealthCheckTimeoutSeconds=want["health_check_timeout"],
                HealthyThresholdCount=want["healthy_threshold"],
                UnhealthyThresholdCount=want["unhealthy_threshold"],
                Matcher={"HttpCode": want["matcher"]},
                Tags=target.owner.tag_list(),
            )["TargetGroups"][0]["TargetGroupArn"]
            api.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(want["deregistration_delay"]),
                    }
                ],
            )
    elif change.action is Action.UPDATE:
        changed = {a.name: a.new for a in change.attrs}
        arn = change.ids["arn"]
        params: dict[str, Any] = {_TG_MODIFY[k]: v for k, v in changed.items() if k in _TG_MODIFY}
        if "matcher" in changed:
            params["Matcher"] = {"HttpCode": changed["matcher"]}
        with aws_errors(f"target group {name}", "update"):
            if params:
                api.modify_target_group(TargetGroupArn=arn, **params)
            if "deregistration_delay" in changed:
                api.modify_target_group_attributes(
                    TargetGroupArn=arn,
                    Attributes=[
                        {
                            "Key": "deregistration_delay.timeout_seconds",
                            "Value": str(changed["deregistration_delay"]),
                        }
                    ],
                )


def _delete_listeners_forwarding_to(
    aws: Aws, target: Target, tg_arn: str, progress: Callable[[str], None]
) -> None:
    lb = elb.read_load_balancer(aws, target.lb_name)
    if lb is None:
        return
    for page in aws.elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb.ids["arn"]):
        for listener in page.get("Listeners", []):
            uses = any(a.get("TargetGroupArn") == tg_arn for a in listener.get("DefaultActions", []))
            if uses:
                progress(
                    f"removing listener {target.lb_name}:{listener.get('Port')} until the target group is back"
                )
                aws.elbv2.delete_listener(ListenerArn=listener["ListenerArn"])


def listener(aws: Aws, target: Target, change: Change) -> None:
    name = change.name
    port = int(change.desired.get("port") or name.rsplit(":", 1)[-1])
    api = aws.elbv2
    # Re-read rather than trust the plan's ids: the load balancer or target group may have been
    # replaced earlier in this apply.
    lb = elb.read_load_balancer(aws, target.lb_name)
    current = elb.read_listeners(aws, lb).get(port) if lb is not None else None
    if change.action is Action.DELETE:
        if current is not None:
            with aws_errors(f"listener {name}", "delete"):
                api.delete_listener(ListenerArn=current.ids["arn"])
        return
    if lb is None:
        raise OpsctlError(f"listener {name}: load balancer {target.lb_name} does not exist")
    want = change.desired
    params: dict[str, Any] = {
        "Protocol": want["protocol"],
        "Port": port,
        "DefaultActions": _actions(aws, target, want["default_action"]),
    }
    if want["protocol"] == "HTTPS":
        params["Certificates"] = [{"CertificateArn": want["certificate_arn"]}]
        params["SslPolicy"] = want["ssl_policy"]
    with aws_errors(f"listener {name}", "create" if current is None else "update"):
        if current is None:
            api.create_listener(
                LoadBalancerArn=lb.ids["arn"],
                Tags=target.owner.tag_list(),
                **params,
            )
        else:
            api.modify_listener(ListenerArn=current.ids["arn"], **params)


def _actions(aws: Aws, target: Target, summary: str) -> list[ActionTypeDef]:
    if summary.startswith("redirect "):
        protocol, port = summary.split(" ", 1)[1].split(":")
        return [
            {
                "Type": "redirect",
                "RedirectConfig": {"Protocol": protocol, "Port": port, "StatusCode": "HTTP_301"},
            }
        ]
    tg = elb.read_target_group(aws, target.target_group_name)
    if tg is None:
        raise OpsctlError(f"target group {target.target_group_name} does not exist")
    return [{"Type": "forward", "TargetGroupArn": tg.ids["arn"]}]
