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

    from botocore.exceptions import BotoCoreError, ClientError

    from opsctl.provision.session import Aws

    where = lb.target_group
    try:
        aws_config = config.aws_for(env_name)
        if lb.target_group.startswith("arn:"):
            arn = lb.target_group
        else:
            from opsctl.provision.elb import target_group_arn

            arn = target_group_arn(aws_config, config.app, env_name)
        where = arn.split("/")[-2] if arn.count("/") >= 2 else arn
        client = Aws(aws_config).client("elbv2")
        _act(client, args.action, arn, target)
    except (OpsctlError, ClientError, BotoCoreError) as exc:
        print(failure_line(args.action, where, target, exc), file=sys.stderr)
        return 1
    return 0


def _act(client: Any, action: str, arn: str, target: dict[str, Any]) -> None:
    if action == "deregister":
        if target_state(client, arn, target) is None:
            return  # not in the group (e.g. its first deploy): nothing to take out
        client.deregister_targets(TargetGroupArn=arn, Targets=[target])
        delay = _deregistration_delay(client, arn)
        # Real ELBv2 reports `draining` for up to the delay; moto drops the target at once.
        wait_for(lambda: target_state(client, arn, target), lambda s: s in (None, "unused"), delay + 5)
    else:
        client.register_targets(TargetGroupArn=arn, Targets=[target])
        wait_for(lambda: target_state(client, arn, target), lambda s: s == "healthy", 120)


def failure_line(action: str, target_group: str, target: dict[str, Any], exc: Exception) -> str:
    """One line naming the target group, the target and AWS's own words."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    elif isinstance(exc, OpsctlError):
        reason = exc.message
    else:
        reason = str(exc)
    verb = "take" if action == "deregister" else "put"
    prep = "out of" if action == "deregister" else "into"
    text = f"could not {verb} target {target['Id']}:{target['Port']} {prep} target group {target_group}: {reason}"
    return " ".join(text.split())


def _deregistration_delay(client: Any, arn: str) -> float:
    attributes = client.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
    for attribute in attributes:
        if attribute["Key"] == "deregistration_delay.timeout_seconds":
            return float(attribute["Value"])
    return 300.0


if __name__ == "__main__":
    sys.exit(main())
