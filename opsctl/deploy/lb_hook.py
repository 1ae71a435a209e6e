"""Take a host out of (and back into) the environment's ELBv2 target group around its swap.

roll.yml runs this on the deploying machine (delegate_to: localhost) before and after each host's
swap: `python -m opsctl.deploy.lb_hook --config PATH --env ENV deregister|register HOST`.
The waiting logic takes its clock and health source as arguments so it can be tested without AWS
(moto reports targets healthy at once and never draining).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsctl.errors import OpsctlError


def wait_for(
    state: Callable[[], str | None],
    done: Callable[[str | None], bool],
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 1.0,
) -> str | None:
    """Poll `state` until `done(state)`; raise after `timeout` seconds with the last state seen."""
    deadline = clock() + timeout
    while True:
        current = state()
        if done(current):
            return current
        if clock() >= deadline:
            raise OpsctlError(f"timed out after {timeout:g}s; target state is {current or 'absent'}")
        sleep(interval)


def target_state(client: Any, arn: str, target: dict[str, Any]) -> str | None:
    response = client.describe_target_health(TargetGroupArn=arn)
    for description in response.get("TargetHealthDescriptions", []):
        if description["Target"]["Id"] == target["Id"] and description["Target"].get("Port") == target.get("Port"):
            return str(description["TargetHealth"]["State"])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsctl-lb-hook")
    parser.add_argument("--config", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--aws-env", help="0600 file of AWS_* variables from the deploying process")
    parser.add_argument("action", choices=["deregister", "register"])
    parser.add_argument("host")
    args = parser.parse_args(argv)

    from opsctl.config.inventory import load_inventory
    from opsctl.config.loader import load
    from opsctl.config.secrets import read_env_file
    from opsctl.validate import check_host

    check_host(args.host)
    if args.aws_env:
        os.environ.update(read_env_file(Path(args.aws_env)))
    config = load(Path(args.config))
    env_name, env = config.environment(args.env)
    lb = env.load_balancer
    if not lb.target_group:
        return 0
    host_vars = load_inventory(config.inventory_paths(env_name)).hosts.get(args.host, {})
    http = config.http_services()
    port = lb.target_port or (next(iter(http.values())).ingress_port if http else 80)
    target = {"Id": str(host_vars.get("opsctl_target_id") or host_vars.get("ansible_host") or args.host),
              "Port": port}

    from opsctl.provision.session import Aws

    aws_config = config.aws_for(env_name)
    if lb.target_group.startswith("arn:"):
        arn = lb.target_group
    else:
        from opsctl.provision.elb import target_group_arn

        arn = target_group_arn(aws_config, config.app, env_name)
    client = Aws(aws_config).client("elbv2")
    try:
        if args.action == "deregister":
            client.deregister_targets(TargetGroupArn=arn, Targets=[target])
            delay = _deregistration_delay(client, arn)
            wait_for(lambda: target_state(client, arn, target), lambda s: s in (None, "unused"), delay + 5)
        else:
            client.register_targets(TargetGroupArn=arn, Targets=[target])
            wait_for(lambda: target_state(client, arn, target), lambda s: s == "healthy", 120)
    except OpsctlError as exc:
        print(f"{args.action} {target['Id']}:{port} in {arn}: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _deregistration_delay(client: Any, arn: str) -> float:
    attributes = client.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    for attribute in attributes:
        if attribute["Key"] == "deregistration_delay.timeout_seconds":
            return float(attribute["Value"])
    return 300.0


if __name__ == "__main__":
    sys.exit(main())
