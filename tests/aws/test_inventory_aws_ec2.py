"""An `amazon.aws.aws_ec2` inventory, read by real Ansible against a moto server over HTTP.

Tagged instances of the app's environment become opsctl's hosts, with their tags and instance ids
(`opsctl_target_id` composed from the id, as a load balancer's target group wants it); instances of
another environment or app are not hosts. Needs the `amazon.aws` collection: `pip install
'opsctl[aws-inventory]'` (the `ansible` package) brings it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from opsctl.config.inventory import load_inventory


def _has_collection() -> bool:
    try:
        return importlib.util.find_spec("ansible_collections.amazon.aws") is not None
    except ModuleNotFoundError:  # no ansible_collections package at all
        return False


pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(
        not _has_collection(),
        reason="the amazon.aws collection is not installed (pip install 'opsctl[aws-inventory]', ~30 s, "
        "~500 MB); the aws_ec2 inventory plugin comes with it",
    ),
]


def _instances(ec2: object, count: int, tags: dict[str, str]) -> list[str]:
    image = ec2.describe_images()["Images"][0]["ImageId"]  # type: ignore[attr-defined]
    reply = ec2.run_instances(  # type: ignore[attr-defined]
        ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    return [i["InstanceId"] for i in reply["Instances"]]


def test_aws_ec2_inventory_sees_exactly_the_tagged_instances(moto: str, tmp_path: Path) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto)
    wanted = _instances(ec2, 2, {"app": "shop", "env": "production", "role": "web"})
    _instances(ec2, 1, {"app": "shop", "env": "staging", "role": "web"})
    _instances(ec2, 1, {"app": "other", "env": "production"})
    source = tmp_path / "production.aws_ec2.yml"
    source.write_text(yaml.safe_dump({
        "plugin": "amazon.aws.aws_ec2",
        "regions": ["us-east-1"],
        "endpoint_url": moto,
        "filters": {"tag:app": "shop", "tag:env": "production", "instance-state-name": "running"},
        "hostnames": ["instance-id"],
        "keyed_groups": [{"key": "tags.role", "prefix": "role"}],
        "compose": {"opsctl_target_id": "instance_id", "ansible_host": "private_ip_address"},
    }))

    inventory = load_inventory(source)

    assert sorted(inventory.hosts) == sorted(wanted)
    for instance_id in wanted:
        variables = inventory.hosts[instance_id]
        assert variables["instance_id"] == instance_id
        assert variables["opsctl_target_id"] == instance_id
        assert variables["tags"] == {"app": "shop", "env": "production", "role": "web"}
        assert inventory.address(instance_id) == variables["private_ip_address"]
    assert sorted(inventory.groups["role_web"]) == sorted(wanted)

    # The same file through `opsctl check`, as a user would point an environment at it.
    (tmp_path / "opsctl.yml").write_text(
        "app: shop\nimage: registry.example.com/shop\nservices:\n  web:\n    port: 8080\n"
        "    groups: [role_web]\nenvironments:\n  production:\n    inventory: production.aws_ec2.yml\n"
    )
    result = subprocess.run([sys.executable, "-m", "opsctl", "check", "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert sorted(yaml.safe_load(result.stdout)["environments"]["production"]) == sorted(wanted)


def test_an_unreachable_aws_endpoint_is_one_line(moto: str, tmp_path: Path) -> None:
    source = tmp_path / "broken.aws_ec2.yml"
    source.write_text(yaml.safe_dump({
        "plugin": "amazon.aws.aws_ec2", "regions": ["us-east-1"], "endpoint_url": "http://127.0.0.1:9",
    }))
    with pytest.raises(Exception) as info:
        load_inventory(source)
    problems = getattr(info.value, "problems", None)
    assert problems is not None and len(problems) == 1, info.value
    assert problems[0].startswith(f"{source}: "), problems
    assert "\n" not in problems[0]
