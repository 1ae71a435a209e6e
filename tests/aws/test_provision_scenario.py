"""`opsctl provision` end to end through the CLI, against a moto server over HTTP.

plan (all creates) -> apply -> no changes -> one config change -> exactly that update -> apply ->
drift behind opsctl's back -> plan shows it -> destroy refuses RDS -> destroy with
--allow-destroy leaves nothing tagged.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import boto3
import pytest
import yaml

pytestmark = pytest.mark.aws

OPSCTL = [sys.executable, "-m", "opsctl"]
APP, ENV, ZONE = "hello", "production", "example.test"
PREFIX = f"{APP}-{ENV}"


def write_config(tmp: Path, endpoint: str, aws_extra: dict[str, Any] | None = None) -> Path:
    aws: dict[str, Any] = {
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "rds": {"master_password_secret": "DATABASE_PASSWORD"},
        "queues": {"jobs": {"visibility_timeout": 30, "dead_letter": {"max_receive_count": 4}}},
        "ses": {},
        "dns": {
            "zone": ZONE,
            "records": [{"name": "www", "type": "CNAME", "values": [f"{APP}.{ZONE}"]}],
        },
        "load_balancer": {},
    }
    aws.update(aws_extra or {})
    config = {
        "app": APP,
        "image": "localhost:5050/hello",
        "services": {"web": {"port": 8000, "healthcheck": {"path": "/ping"}}},
        "environments": {ENV: {"inventory": "inventory.yml"}},
        "aws": aws,
    }
    (tmp / "inventory.yml").write_text("all: {hosts: {}}\n")
    path = tmp / "opsctl.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def opsctl(
    config: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # No CI and no terminal on stdin: apply must need --yes.
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(extra_env or {})
    env["DATABASE_PASSWORD"] = "not-a-real-password-42"
    return subprocess.run(
        [*OPSCTL, "-c", str(config), "provision", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def plan_json(config: Path) -> dict[str, Any]:
    result = opsctl(config, "plan", "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def changed(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["action"] != "no change"]


# The services this scenario reads back; a Literal so boto3-stubs can pick its overload of client().
Service = Literal["rds", "sqs", "sns", "ses", "route53", "elbv2"]


def client(endpoint: str, service: Service) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)


def queue_url(endpoint: str, name: str) -> str:
    return str(client(endpoint, "sqs").get_queue_url(QueueName=name)["QueueUrl"])


def ours(tags: dict[str, str]) -> bool:
    return tags.get("managed-by") == "opsctl"


def tagged_left(endpoint: str) -> list[str]:
    """Every resource in moto still tagged managed-by=opsctl, service by service."""
    left: list[str] = []
    rds = client(endpoint, "rds")
    for db in rds.describe_db_instances()["DBInstances"]:
        if ours({t["Key"]: t["Value"] for t in db.get("TagList", [])}):
            left.append(db["DBInstanceArn"])
    for group in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        tags = rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"]
        if ours({t["Key"]: t["Value"] for t in tags}):
            left.append(group["DBSubnetGroupArn"])
    sqs = client(endpoint, "sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        if ours(sqs.list_queue_tags(QueueUrl=url).get("Tags", {})):
            left.append(url)
    sns = client(endpoint, "sns")
    for topic in sns.list_topics()["Topics"]:
        tags = sns.list_tags_for_resource(ResourceArn=topic["TopicArn"])["Tags"]
        if ours({t["Key"]: t["Value"] for t in tags}):
            left.append(topic["TopicArn"])
    left += [f"ses:{i}" for i in client(endpoint, "ses").list_identities()["Identities"]]
    r53 = client(endpoint, "route53")
    for zone in r53.list_hosted_zones()["HostedZones"]:
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        tags = r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)["ResourceTagSet"]
        if ours({t["Key"]: t["Value"] for t in tags.get("Tags", [])}):
            left.append(zone["Id"])
    elb = client(endpoint, "elbv2")
    arns = [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
    arns += [tg["TargetGroupArn"] for tg in elb.describe_target_groups()["TargetGroups"]]
    if arns:
        for desc in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]:
            if ours({t["Key"]: t["Value"] for t in desc.get("Tags", [])}):
                left.append(desc["ResourceArn"])
    return left


def check_created_attributes(endpoint: str) -> None:
    db = client(endpoint, "rds").describe_db_instances(DBInstanceIdentifier=PREFIX)["DBInstances"][0]
    assert db["MultiAZ"] is True  # production default
    assert db["DeletionProtection"] is True
    assert db["Engine"] == "postgres"
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == PREFIX

    sqs = client(endpoint, "sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url(endpoint, f"{PREFIX}-jobs"), AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{PREFIX}-jobs-dlq")
    assert int(redrive["maxReceiveCount"]) == 4

    ses = client(endpoint, "ses")
    dkim = ses.get_identity_dkim_attributes(Identities=[ZONE])["DkimAttributes"][ZONE]
    assert dkim["DkimEnabled"] is True
    topic_arn = f"arn:aws:sns:us-east-1:123456789012:{PREFIX}-ses-feedback"
    notes = ses.get_identity_notification_attributes(Identities=[ZONE])["NotificationAttributes"][ZONE]
    assert notes["BounceTopic"] == topic_arn
    assert notes["ComplaintTopic"] == topic_arn
    subs = client(endpoint, "sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"].rsplit(":", 1)[-1]) for s in subs] == [
        ("sqs", f"{PREFIX}-ses-feedback")
    ]

    elb = client(endpoint, "elbv2")
    lb = elb.describe_load_balancers(Names=[PREFIX])["LoadBalancers"][0]
    tg = elb.describe_target_groups(Names=[f"{PREFIX}-web"])["TargetGroups"][0]
    assert tg["HealthCheckPath"] == "/ping"
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(li["Port"], li["DefaultActions"][0]["TargetGroupArn"]) for li in listeners] == [
        (80, tg["TargetGroupArn"])
    ]

    r53 = client(endpoint, "route53")
    zone_id = r53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    records = {
        (r["Name"], r["Type"]): r
        for r in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    }
    alias = records[(f"{APP}.{ZONE}.", "A")]["AliasTarget"]
    assert alias["DNSName"].rstrip(".") == lb["DNSName"]
    assert alias["HostedZoneId"] == lb["CanonicalHostedZoneId"]
    token = ses.get_identity_verification_attributes(Identities=[ZONE])["VerificationAttributes"][ZONE][
        "VerificationToken"
    ]
    assert records[(f"_amazonses.{ZONE}.", "TXT")]["ResourceRecords"] == [{"Value": f'"{token}"'}]
    dkim_names = sorted(n for (n, t) in records if t == "CNAME" and "._domainkey." in n)
    assert dkim_names == sorted(f"{t}._domainkey.{ZONE}." for t in dkim["DkimTokens"])
    assert records[(f"www.{ZONE}.", "CNAME")]["ResourceRecords"] == [{"Value": f"{APP}.{ZONE}"}]


def check_target_group_lookup(endpoint: str) -> None:
    """The function deploy calls to find the target group it registers hosts with."""
    from opsctl.config.aws_models import AwsConfig
    from opsctl.errors import OpsctlError
    from opsctl.provision.elb import target_group_arn

    aws = AwsConfig(endpoint_url=endpoint)
    expected = client(endpoint, "elbv2").describe_target_groups(Names=[f"{PREFIX}-web"])["TargetGroups"][0]
    assert target_group_arn(aws, APP, ENV) == expected["TargetGroupArn"]
    with pytest.raises(OpsctlError, match="does not exist"):
        target_group_arn(aws, APP, "staging")


def test_unreachable_endpoint_is_an_error_with_a_hint(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = write_config(tmp_path, closed)
    result = opsctl(
        config,
        "plan",
        "--detailed-exitcode",
        extra_env={"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
    )
    assert result.returncode == 1
    assert "cannot reach AWS" in result.stderr
    assert "endpoint_url" in result.stderr


def test_plan_apply_drift_destroy(moto: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, moto)

    # 1. Everything is a create.
    first = plan_json(config)
    assert first["has_changes"] is True
    assert {c["action"] for c in first["changes"]} == {"create"}
    kinds = {c["kind"] for c in first["changes"]}
    assert kinds >= {"rds.instance", "sqs.queue", "ses.identity", "route53.record", "elb.listener"}
    assert opsctl(config, "plan", "--detailed-exitcode").returncode == 2

    # Without --yes and without a terminal, apply refuses rather than waiting for an answer.
    refused = opsctl(config, "apply")
    assert refused.returncode == 2, refused.stderr
    assert "--yes" in refused.stderr
    assert client(moto, "sqs").list_queues().get("QueueUrls", []) == []

    # 2. Apply creates it all, in an order AWS accepts.
    applied = opsctl(config, "apply", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert "create rds.subnet_group" in applied.stderr
    assert "not-a-real-password-42" not in applied.stdout + applied.stderr
    check_created_attributes(moto)
    check_target_group_lookup(moto)

    # 3. Nothing left to do.
    again = opsctl(config, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert changed(plan_json(config)) == []

    # 4. One setting changed in config: exactly that update.
    config = write_config(
        tmp_path,
        moto,
        {"queues": {"jobs": {"visibility_timeout": 60, "dead_letter": {"max_receive_count": 4}}}},
    )
    assert changed(plan_json(config)) == [
        {
            "kind": "sqs.queue",
            "name": f"{PREFIX}-jobs",
            "action": "update",
            "attributes": [{"name": "visibility_timeout", "old": 30, "new": 60}],
        }
    ]
    text = opsctl(config, "plan")
    assert "visibility_timeout: 30 -> 60" in text.stdout
    assert opsctl(config, "apply", "--yes").returncode == 0
    assert opsctl(config, "plan", "--detailed-exitcode").returncode == 0

    # 5. Drift: changed behind opsctl's back, shown as updates back to the config.
    client(moto, "sqs").set_queue_attributes(
        QueueUrl=queue_url(moto, f"{PREFIX}-jobs"), Attributes={"VisibilityTimeout": "120"}
    )
    elb = client(moto, "elbv2")
    tg_arn = elb.describe_target_groups(Names=[f"{PREFIX}-web"])["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group(TargetGroupArn=tg_arn, HealthCheckPath="/elsewhere")
    drift = {(c["kind"], c["name"]): c["attributes"] for c in changed(plan_json(config))}
    assert drift == {
        ("sqs.queue", f"{PREFIX}-jobs"): [{"name": "visibility_timeout", "old": 120, "new": 60}],
        ("elb.target_group", f"{PREFIX}-web"): [
            {"name": "health_check_path", "old": "/elsewhere", "new": "/ping"}
        ],
    }
    assert opsctl(config, "apply", "--yes").returncode == 0
    assert (
        elb.describe_target_groups(Names=[f"{PREFIX}-web"])["TargetGroups"][0]["HealthCheckPath"] == "/ping"
    )

    # 6. Destroy refuses the stateful resources unless each is named, and changes nothing.
    refused = opsctl(config, "destroy", "--yes")
    assert refused.returncode == 1
    assert f"--allow-destroy {PREFIX}" in refused.stderr
    assert f"--allow-destroy {ZONE}" in refused.stderr
    half = opsctl(config, "destroy", "--yes", "--allow-destroy", PREFIX)
    assert half.returncode == 1
    assert f"--allow-destroy {ZONE}" in half.stderr
    assert client(moto, "rds").describe_db_instances()["DBInstances"]
    assert queue_url(moto, f"{PREFIX}-jobs")

    # 7. Destroy with both named leaves nothing tagged (and takes a final snapshot).
    done = opsctl(config, "destroy", "--yes", "--allow-destroy", PREFIX, "--allow-destroy", ZONE)
    assert done.returncode == 0, done.stderr
    assert tagged_left(moto) == []
    snapshots = client(moto, "rds").describe_db_snapshots()["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"].startswith(f"{PREFIX}-final-") for s in snapshots] == [True]
    assert opsctl(config, "destroy", "--yes").returncode == 0  # nothing left: a no-op


def test_never_touches_a_resource_it_does_not_own(moto: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        moto,
        {"rds": None, "ses": None, "dns": None, "load_balancer": None},
    )
    sqs = client(moto, "sqs")
    url = sqs.create_queue(QueueName=f"{PREFIX}-jobs", Attributes={"VisibilityTimeout": "99"})["QueueUrl"]

    result = opsctl(config, "plan", "--detailed-exitcode")
    assert result.returncode == 1
    assert f"{PREFIX}-jobs" in result.stdout and "does not manage" in result.stdout
    assert f"{PREFIX}-jobs" in result.stderr and "tag the existing one" in result.stderr

    applied = opsctl(config, "apply", "--yes")
    assert applied.returncode == 1
    # Refused before anything: not even the DLQ was created.
    assert sqs.list_queues()["QueueUrls"] == [url]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "99"
    }

    # Destroy leaves it alone too.
    assert opsctl(config, "destroy", "--yes").returncode == 0
    assert sqs.list_queues()["QueueUrls"] == [url]
