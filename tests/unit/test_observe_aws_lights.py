"""The AWS elements' lights: pure functions of the fields boto3 returns (tables of states in, lights out)."""

from __future__ import annotations

import pytest

from opsctl.observe import aws_lights
from opsctl.observe.lights import HEALTHY, STARTING, STOPPED, UNHEALTHY, UNKNOWN


@pytest.mark.parametrize(("status", "light"), [
    ("available", HEALTHY), ("backing-up", HEALTHY), ("creating", STARTING), ("rebooting", STARTING),
    ("modifying", STARTING), ("stopped", STOPPED), ("deleting", STOPPED), ("failed", UNHEALTHY),
    ("storage-full", UNHEALTHY), ("some-new-status", UNHEALTHY), (None, STOPPED),
])
def test_rds(status: str | None, light: str) -> None:
    found = aws_lights.rds(status)
    assert found.light == light
    assert found.detail == (status if status else aws_lights.NOT_FOUND)


@pytest.mark.parametrize(("state", "light"), [
    ("active", HEALTHY), ("provisioning", STARTING), ("active_impaired", UNHEALTHY), ("failed", UNHEALTHY),
    (None, STOPPED),
])
def test_load_balancer(state: str | None, light: str) -> None:
    assert aws_lights.load_balancer(state).light == light
    assert aws_lights.load_balancer("failed", "subnet full").detail == "failed: subnet full"


@pytest.mark.parametrize(("states", "light", "detail"), [
    (["healthy"] * 3, HEALTHY, "3/3 targets healthy"),
    (["healthy", "initial"], STARTING, "1/2 targets healthy (initial)"),
    (["healthy", "draining", "unhealthy"], UNHEALTHY, "1/3 targets healthy (draining, unhealthy)"),
    (["unused"], STOPPED, "0/1 targets healthy (unused)"),
    (["unavailable"], UNKNOWN, "0/1 targets healthy (unavailable)"),
    ([], STOPPED, "no targets registered"),
])
def test_target_group_takes_the_worst_target(states: list[str], light: str, detail: str) -> None:
    assert aws_lights.target_group(True, states) == aws_lights.AwsLight(light, detail)
    assert aws_lights.target_group(False, []).light == STOPPED


def test_queue_is_unhealthy_when_its_dead_letters_fill() -> None:
    attrs = {"ApproximateNumberOfMessages": "4", "ApproximateNumberOfMessagesNotVisible": "1"}
    assert aws_lights.queue(attrs) == aws_lights.AwsLight(HEALTHY, "4 waiting, 1 in flight")
    assert aws_lights.queue(attrs, {"ApproximateNumberOfMessages": "0"}).light == HEALTHY
    dead = aws_lights.queue(attrs, {"ApproximateNumberOfMessages": "2"})
    assert dead == aws_lights.AwsLight(UNHEALTHY, "4 waiting, 1 in flight, 2 dead letters")
    assert aws_lights.queue(None).light == STOPPED
    assert aws_lights.queue({"ApproximateNumberOfMessages": "x"}).detail == "0 waiting, 0 in flight"


@pytest.mark.parametrize(("status", "light"), [
    ("Success", HEALTHY), ("Pending", STARTING), ("NotStarted", STARTING), ("Failed", UNHEALTHY),
    ("TemporaryFailure", UNHEALTHY), (None, STOPPED),
])
def test_ses(status: str | None, light: str) -> None:
    assert aws_lights.ses(status).light == light


def test_dns_is_healthy_when_the_name_aliases_the_load_balancer() -> None:
    lb = "hello-lab-123.us-east-1.elb.amazonaws.com"
    assert aws_lights.dns(True, [lb + "."], lb).light == HEALTHY
    assert aws_lights.dns(True, ["dualstack." + lb.upper()], lb).light == HEALTHY
    assert aws_lights.dns(True, ["other.example.com"], lb) == aws_lights.AwsLight(
        UNHEALTHY, "points at other.example.com, not the load balancer")
    assert aws_lights.dns(True, [], lb).light == UNHEALTHY
    assert aws_lights.dns(False, [], lb).light == STOPPED
    assert aws_lights.dns(True, [lb], None).light == UNHEALTHY
