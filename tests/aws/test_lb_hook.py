"""The deploy's load-balancer hook (`python -m opsctl.deploy.lb_hook`) against a moto server over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

pytestmark = pytest.mark.aws


def setup(moto: str, tmp_path: Path, target_group: str | None = None) -> tuple[Path, Any, str, str]:
    ec2 = boto3.client("ec2", endpoint_url=moto)
    elb = boto3.client("elbv2", endpoint_url=moto)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    arn = elb.create_target_group(Name="shop-web", Protocol="HTTP", Port=80, VpcId=vpc,
                                  TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    config = {
        "app": "shop",
        "image": "localhost:5050/shop",
        "services": {"web": {"port": 8000}},
        "environments": {"production": {
            "inventory": "inventory.yml",
            "load_balancer": {"target_group": target_group or arn},
            "aws": {"endpoint_url": moto},
        }},
    }
    inventory = {"all": {"hosts": {"web1": {"ansible_host": "10.0.0.5", "opsctl_target_id": instance}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "opsctl.yml").write_text(yaml.safe_dump(config))
    return tmp_path / "opsctl.yml", elb, arn, instance


def hook(config: Path, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsctl.deploy.lb_hook", "--config", str(config), "--env", "production",
         action, "web1"],
        env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False,
    )


def members(elb: Any, arn: str) -> dict[str, str]:
    health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health}


def test_out_before_the_swap_and_back_in_after(moto: str, tmp_path: Path) -> None:
    config, elb, arn, instance = setup(moto, tmp_path)
    # A host that is not in the group yet (its first deploy) has nothing to be taken out of.
    first = hook(config, "deregister")
    assert first.returncode == 0, first.stderr
    assert hook(config, "register").returncode == 0
    assert members(elb, arn) == {instance: "healthy"}
    # moto never drains: the target is gone at once, and the wait ends there.
    out = hook(config, "deregister")
    assert out.returncode == 0, out.stderr
    assert members(elb, arn) == {}


def test_an_aws_failure_is_one_line_naming_group_target_and_reason(moto: str, tmp_path: Path) -> None:
    config, _, arn, instance = setup(moto, tmp_path)
    missing = arn.replace("/shop-web/", "/gone-web/").rsplit("/", 1)[0] + "/0123456789abcdef"
    config.write_text(config.read_text().replace(arn, missing))
    failed = hook(config, "deregister")
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith(f"could not take target {instance}:80 out of target group gone-web: ")
    assert "TargetGroupNotFound" in lines[0]
    assert "Traceback" not in failed.stderr
