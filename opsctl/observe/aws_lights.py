"""Lights for the AWS elements of the topology, as pure functions of what AWS reports.

Each function takes the few fields boto3 returned (None: the resource was not found) and gives a
light of the same vocabulary as the containers' (lights.py) and a short detail for the tooltip.
A missing resource is "stopped" (nothing runs there; `opsctl provision apply` makes it); AWS not
answering at all makes every AWS element "unreachable" (aws_status.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opsctl.observe import lights


@dataclass(frozen=True)
class AwsLight:
    light: str
    detail: str


NOT_FOUND = "not found (opsctl provision apply creates it)"

_RDS_UP = {"available", "backing-up", "storage-optimization", "maintenance"}
_RDS_BUSY = {"creating", "starting", "rebooting", "modifying", "upgrading", "renaming", "resetting-master-credentials",
             "configuring-enhanced-monitoring", "configuring-iam-database-auth", "configuring-log-exports",
             "converting-to-vpc", "moving-to-vpc"}
_RDS_DOWN = {"stopped", "stopping", "deleting"}


def rds(status: str | None) -> AwsLight:
    """From DBInstanceStatus. A status AWS adds later that we do not know reads as unhealthy."""
    if status is None:
        return AwsLight(lights.STOPPED, NOT_FOUND)
    if status in _RDS_UP:
        return AwsLight(lights.HEALTHY, status)
    if status in _RDS_BUSY:
        return AwsLight(lights.STARTING, status)
    if status in _RDS_DOWN:
        return AwsLight(lights.STOPPED, status)
    return AwsLight(lights.UNHEALTHY, status)  # failed, storage-full, incompatible-*, ...


def load_balancer(state: str | None, reason: str | None = None) -> AwsLight:
    """From LoadBalancer.State.Code (active, provisioning, active_impaired, failed)."""
    if state is None:
        return AwsLight(lights.STOPPED, NOT_FOUND)
    detail = f"{state}: {reason}" if reason else state
    return AwsLight({"active": lights.HEALTHY, "provisioning": lights.STARTING}.get(state, lights.UNHEALTHY), detail)


_TARGET = {"healthy": lights.HEALTHY, "initial": lights.STARTING, "draining": lights.STARTING,
           "unhealthy": lights.UNHEALTHY, "unused": lights.STOPPED, "unavailable": lights.UNKNOWN}


def target_group(found: bool, states: Sequence[str]) -> AwsLight:
    """From each registered target's TargetHealth.State: the worst one, with a count."""
    if not found:
        return AwsLight(lights.STOPPED, NOT_FOUND)
    if not states:
        return AwsLight(lights.STOPPED, "no targets registered")
    healthy = sum(1 for s in states if s == "healthy")
    others = sorted({s for s in states if s != "healthy"})
    detail = f"{healthy}/{len(states)} targets healthy" + (f" ({', '.join(others)})" if others else "")
    return AwsLight(lights.worst([_TARGET.get(s, lights.UNHEALTHY) for s in states]), detail)


def queue(attributes: Mapping[str, str] | None, dead_letters: Mapping[str, str] | None = None) -> AwsLight:
    """From GetQueueAttributes (and its dead-letter queue's): messages in dead letters mean failed work."""
    if attributes is None:
        return AwsLight(lights.STOPPED, NOT_FOUND)
    waiting = _count(attributes, "ApproximateNumberOfMessages")
    in_flight = _count(attributes, "ApproximateNumberOfMessagesNotVisible")
    detail = f"{waiting} waiting, {in_flight} in flight"
    if dead_letters is not None:
        dead = _count(dead_letters, "ApproximateNumberOfMessages")
        detail += f", {dead} dead letters"
        if dead:
            return AwsLight(lights.UNHEALTHY, detail)
    return AwsLight(lights.HEALTHY, detail)


def _count(attributes: Mapping[str, str], key: str) -> int:
    value = attributes.get(key, "0")
    return int(value) if str(value).isdigit() else 0


def ses(verification: str | None) -> AwsLight:
    """From the domain identity's VerificationStatus (Success, Pending, Failed, TemporaryFailure,
    NotStarted). (Whether the account's sending is paused is not read: the lab's moto does not
    answer that call.)"""
    if verification is None:
        return AwsLight(lights.STOPPED, NOT_FOUND)
    if verification == "Success":
        return AwsLight(lights.HEALTHY, "verified")
    if verification in {"Pending", "NotStarted"}:
        return AwsLight(lights.STARTING, f"verification {verification.lower()}")
    return AwsLight(lights.UNHEALTHY, f"verification {verification}")


def dns(zone_found: bool, record_targets: Sequence[str], load_balancer_dns: str | None) -> AwsLight:
    """From the zone and the alias record of the app's name: healthy when it points at the app's
    load balancer."""
    if not zone_found:
        return AwsLight(lights.STOPPED, f"zone {NOT_FOUND}")
    if not record_targets:
        return AwsLight(lights.UNHEALTHY, "no record for the app's name")
    wanted = (load_balancer_dns or "").rstrip(".").lower()
    pointed = [t.rstrip(".").lower() for t in record_targets]
    if wanted and any(p == wanted or p.endswith("." + wanted) for p in pointed):
        return AwsLight(lights.HEALTHY, f"alias to {wanted}")
    return AwsLight(lights.UNHEALTHY, f"points at {', '.join(pointed)}, not the load balancer")
