"""Read the state of an environment's AWS elements through boto3 and give each topology node a light
(the mapping is aws_lights.py). Read-only: describe/get calls only. boto3 is imported here, and this
module only inside the functions that read (so `opsctl --help` never loads it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError
from opsctl.observe import aws_lights, lights
from opsctl.observe.aws_lights import AwsLight

if TYPE_CHECKING:
    from opsctl.config.models import Config
    from opsctl.observe.topology import Model
    from opsctl.provision.session import Aws
    from opsctl.provision.target import Target


def read(config: Config, env_name: str, model: Model) -> dict[str, AwsLight]:
    """A light for each AWS node of `model` (ids "aws:..."); every one unreachable if AWS does not answer."""
    from opsctl.provision.runner import target_for
    from opsctl.provision.session import Aws

    wanted = [n.id for n in model.nodes if n.id.startswith("aws:")]
    if not wanted:
        return {}
    target = target_for(config, env_name)
    aws = Aws(config.aws_for(env_name))
    env = config.environments[env_name]
    readers: dict[str, Callable[[], AwsLight]] = {
        "aws:rds": lambda: _rds(aws, target),
        "aws:load_balancer": lambda: _load_balancer(aws, target.lb_name)[0],
        "aws:target_group": lambda: _target_group(aws, env.load_balancer.target_group or target.target_group_name),
        "aws:ses": lambda: _ses(aws, target),
        "aws:dns": lambda: _dns(aws, target),
    }
    found: dict[str, AwsLight] = {}
    for node_id in wanted:
        reader = readers.get(node_id)
        if reader is None and node_id.startswith("aws:queue:"):
            key = node_id.removeprefix("aws:queue:")
            reader = lambda key=key: _queue(aws, target, key)  # noqa: E731 - bound per queue
        if reader is None:
            continue
        try:
            found[node_id] = reader()
        except OpsctlError as exc:
            # AWS down or refusing: every element is unreachable from here; no point asking again.
            return {n: AwsLight(lights.UNREACHABLE, exc.message) for n in wanted}
    return found


def _code(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def _call(what: str, fn: Callable[[], Any], missing: set[str]) -> Any | None:
    """One describe call; None when AWS says the resource does not exist."""
    from botocore.exceptions import ClientError

    from opsctl.provision.session import aws_errors

    with aws_errors(what, "describe"):
        try:
            return fn()
        except ClientError as exc:
            if _code(exc) in missing:
                return None
            raise


def _rds(aws: Aws, target: Target) -> AwsLight:
    ident = target.rds_identifier
    found = _call(f"RDS instance {ident}", lambda: aws.rds.describe_db_instances(DBInstanceIdentifier=ident),
                  {"DBInstanceNotFound", "DBInstanceNotFoundFault"})
    status = found["DBInstances"][0].get("DBInstanceStatus") if found and found.get("DBInstances") else None
    return aws_lights.rds(str(status) if status is not None else None)


def _load_balancer(aws: Aws, name: str) -> tuple[AwsLight, str | None]:
    found = _call(f"load balancer {name}", lambda: aws.elbv2.describe_load_balancers(Names=[name]),
                  {"LoadBalancerNotFound"})
    if not found or not found.get("LoadBalancers"):
        return aws_lights.load_balancer(None), None
    lb = found["LoadBalancers"][0]
    state = lb.get("State") or {}
    return aws_lights.load_balancer(str(state.get("Code", "")), state.get("Reason")), str(lb.get("DNSName", ""))


def _target_group(aws: Aws, name: str) -> AwsLight:
    found = _call(f"target group {name}", lambda: aws.elbv2.describe_target_groups(Names=[name]),
                  {"TargetGroupNotFound"})
    if not found or not found.get("TargetGroups"):
        return aws_lights.target_group(False, [])
    arn = found["TargetGroups"][0]["TargetGroupArn"]
    health = _call(f"target group {name}", lambda: aws.elbv2.describe_target_health(TargetGroupArn=arn), set())
    states = [str(d.get("TargetHealth", {}).get("State", "")) for d in (health or {}).get("TargetHealthDescriptions", [])]
    return aws_lights.target_group(True, states)


def _queue_attributes(aws: Aws, name: str) -> dict[str, str] | None:
    url = _call(f"queue {name}", lambda: aws.sqs.get_queue_url(QueueName=name),
                {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
    if not url:
        return None
    attrs = _call(f"queue {name}", lambda: aws.sqs.get_queue_attributes(
        QueueUrl=url["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]), set())
    return dict((attrs or {}).get("Attributes", {}))


def _queue(aws: Aws, target: Target, key: str) -> AwsLight:
    attributes = _queue_attributes(aws, target.queue_name(key))
    config = target.aws.queues.get(key)
    dead = None
    if attributes is not None and config is not None and config.dead_letter:
        dead = _queue_attributes(aws, target.dlq_name(key))
    return aws_lights.queue(attributes, dead)


def _ses(aws: Aws, target: Target) -> AwsLight:
    domain = target.ses_domain or ""
    found = _call(f"SES identity {domain}",
                  lambda: aws.ses.get_identity_verification_attributes(Identities=[domain]), set())
    attrs = (found or {}).get("VerificationAttributes", {}).get(domain)
    if attrs is None:
        return aws_lights.ses(None)
    return aws_lights.ses(str(attrs.get("VerificationStatus", "")))


def _dns(aws: Aws, target: Target) -> AwsLight:
    from opsctl.provision import route53

    zone_name, fqdn = target.zone_name or "", target.alias_fqdn or ""
    zone = route53.read_zone(aws, zone_name.rstrip(".").lower())
    if zone is None:
        return aws_lights.dns(False, [], None)
    records = [r for r in route53.read_records(aws, zone.ids["id"]) if r["Name"] == fqdn and r["Type"] in {"A", "AAAA", "CNAME"}]
    pointed = [str(r.get("AliasTarget", {}).get("DNSName", "")) for r in records if r.get("AliasTarget")]
    pointed += [str(v.get("Value", "")) for r in records for v in r.get("ResourceRecords", [])]
    _, lb_dns = _load_balancer(aws, target.lb_name) if target.aws.load_balancer else (None, None)
    return aws_lights.dns(True, pointed, lb_dns)
