"""The lab's servers as EC2 instances on the lab's AWS endpoint (moto), so that an ELBv2 target
group can hold them exactly as it would hold production instances.

`lab up` calls `register`; each server's instance id goes into the lab inventory as
`opsctl_target_id`, which the deploy's load-balancer hook registers and deregisters. The instances
live as long as the moto process (`lab down` ends it). Only the lab's own endpoint is ever called,
with fixed dummy credentials: never the operator's AWS account.
"""

from __future__ import annotations

from typing import Any

from opsctl.errors import OpsctlError
from opsctl.lab import names

TAG = "opsctl.lab.host"
INSTANCE_TYPE = "t3.micro"
_LIVE = ["pending", "running"]


def client() -> Any:
    import boto3

    return boto3.client(
        "ec2", endpoint_url=names.AWS_ENDPOINT, region_name=names.AWS_REGION,
        # moto takes any credentials; the operator's own are never sent here.
        aws_access_key_id="opsctl-lab", aws_secret_access_key="opsctl-lab",
    )


def _image_id(ec2: Any) -> str:
    images = ec2.describe_images(Owners=["amazon"]).get("Images") or []
    if not images:
        raise OpsctlError(f"the lab's AWS endpoint ({names.AWS_ENDPOINT}) offers no machine image")
    return str(sorted(image["ImageId"] for image in images)[0])


def existing(ec2: Any) -> dict[str, str]:
    """Lab server name -> id of its live instance."""
    found: dict[str, str] = {}
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "tag-key", "Values": [TAG]}, {"Name": "instance-state-name", "Values": _LIVE}]
    )
    for page in pages:
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                found.setdefault(tags[TAG], instance["InstanceId"])
    return found


def plan(servers: list[str], have: dict[str, str]) -> tuple[list[str], list[str]]:
    """(servers that need an instance, instance ids of servers that are gone)."""
    create = [name for name in servers if name not in have]
    remove = sorted(iid for name, iid in have.items() if name not in servers)
    return create, remove


def register(servers: list[str]) -> dict[str, str]:
    """Make sure each lab server has one live instance; return server name -> instance id."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        ec2 = client()
        have = existing(ec2)
        create, remove = plan(servers, have)
        if remove:
            ec2.terminate_instances(InstanceIds=remove)
        image = _image_id(ec2) if create else ""
        for name in create:
            reply = ec2.run_instances(
                ImageId=image, InstanceType=INSTANCE_TYPE, MinCount=1, MaxCount=1,
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": TAG, "Value": name}, {"Key": "Name", "Value": name}]}],
            )
            have[name] = reply["Instances"][0]["InstanceId"]
    except (BotoCoreError, ClientError) as exc:
        raise OpsctlError(
            f"cannot register the lab servers as EC2 instances on {names.AWS_ENDPOINT}: {exc}",
            hint="see moto.log in the lab dir; `opsctl lab down` then `opsctl lab up` starts it afresh",
        ) from exc
    return {name: have[name] for name in servers}
