"""Lights per container and the one-line fleet summary (pure functions of what status reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsctl.observe import lights
from opsctl.observe.lights import ServiceSpec, summarize

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
OLD = "2026-11-23T11:00:00.123456789Z"
HOSTS = ["lab1", "lab2", "lab3"]
SPECS = [
    ServiceSpec("web", http=True, singleton=False, replicas=2, hosts=HOSTS),
    ServiceSpec("worker", http=False, singleton=False, replicas=1, hosts=HOSTS),
    ServiceSpec("clock", http=False, singleton=True, replicas=1, hosts=HOSTS),
]


def c(service: str, version: str = "v2", state: str = "running", health: str | None = None,
      started: str = OLD, role: str = "app") -> dict[str, Any]:
    return {"name": f"hello-{service}", "service": service, "role": role, "version": version,
            "state": state, "health": health, "started_at": started}


def fleet(version_of: dict[str, str] | None = None, clock_on: str = "lab2") -> dict[str, list[dict[str, Any]]]:
    hosts: dict[str, list[dict[str, Any]]] = {}
    for h in HOSTS:
        v = (version_of or {}).get(h, "v2")
        hosts[h] = [c("web", v, health="healthy"), c("web", v, health="healthy"), c("worker", v),
                    c("proxy", None or "", role="proxy")]
        if h == clock_on:
            hosts[h].append(c("clock", v))
    return hosts


CURRENT = {"number": 14, "version": "v2"}


def test_all_well_reads_like_the_issue() -> None:
    s = summarize(SPECS, fleet(), CURRENT, [], NOW)
    assert s.text == "6/6 web healthy, 3/3 worker running, clock on lab2; release #14 v2 everywhere"
    assert s.ok
    assert s.versions == {"v2": HOSTS}


def test_paused_standby_replicas_of_the_previous_release_change_nothing() -> None:
    hosts = fleet()
    for h in HOSTS:
        hosts[h] += [c("web", "v1", state="paused"), c("web", "v1", state="paused")]
    s = summarize(SPECS, hosts, CURRENT, [], NOW)
    assert s.text == "6/6 web healthy, 3/3 worker running, clock on lab2; release #14 v2 everywhere"
    assert s.ok
    assert lights.worst([lights.HEALTHY, lights.STANDBY]) == lights.HEALTHY


def test_hosts_on_different_releases_are_named() -> None:
    s = summarize(SPECS, fleet({"lab1": "v1"}), CURRENT, [], NOW)
    assert s.text.endswith("release #14 v2; hosts differ: lab2,lab3 on v2, lab1 on v1")
    assert not s.ok


def test_whole_fleet_on_another_version_than_the_ledger() -> None:
    s = summarize(SPECS, fleet({h: "v1" for h in HOSTS}), CURRENT, [], NOW)
    assert s.text.endswith("release #14 v2; every host runs v1")
    assert not s.ok


def test_unhealthy_and_missing_replicas_count_down() -> None:
    hosts = fleet()
    hosts["lab1"][0]["health"] = "unhealthy"
    hosts["lab3"] = [x for x in hosts["lab3"] if x["service"] != "worker"]
    s = summarize(SPECS, hosts, CURRENT, [], NOW)
    assert s.text.startswith("5/6 web healthy, 2/3 worker running, clock on lab2;")
    assert s.services["web"] == {"expected": 6, "up": 5, "hosts": HOSTS}
    assert not s.ok


def test_singleton_missing_or_doubled() -> None:
    assert "clock not running" in summarize(SPECS, fleet(clock_on="none"), CURRENT, [], NOW).text
    hosts = fleet()
    hosts["lab3"].append(c("clock"))
    assert "clock on lab2, lab3 (2 copies)" in summarize(SPECS, hosts, CURRENT, [], NOW).text


def test_unreachable_host_is_said_and_not_ok() -> None:
    hosts = fleet()
    hosts["lab3"] = []
    s = summarize(SPECS, hosts, CURRENT, ["lab3"], NOW)
    assert s.text.startswith("4/6 web healthy (lab3 unreachable), 2/3 worker running (lab3 unreachable)")
    assert s.text.endswith("; unreachable: lab3")
    assert not s.ok


def test_no_release_and_nothing_running() -> None:
    s = summarize(SPECS, {h: [] for h in HOSTS}, None, [], NOW)
    assert s.text == "0/6 web healthy, 0/3 worker running, clock not running; no release yet; nothing running"


@pytest.mark.parametrize(
    ("container", "light"),
    [
        (c("web", health="healthy"), lights.HEALTHY),
        (c("worker"), lights.RUNNING),
        (c("web", health="unhealthy"), lights.UNHEALTHY),
        (c("web", health="unhealthy", started=(NOW - timedelta(seconds=3)).isoformat().replace("+00:00", "Z")),
         lights.STARTING),
        (c("web", state="restarting"), lights.STARTING),
        (c("web", state="exited"), lights.STOPPED),
        (c("web", state="paused"), lights.STANDBY),
        (c("web", state="weird"), lights.UNKNOWN),
    ],
)
def test_container_light(container: dict[str, Any], light: str) -> None:
    assert lights.container_light(container, NOW) == light


def test_every_light_has_a_distinct_symbol_for_readers_without_colour() -> None:
    shown = [lights.HEALTHY, lights.STARTING, lights.UNHEALTHY, lights.STOPPED, lights.STANDBY, lights.UNREACHABLE]
    assert len({lights.symbol(x) for x in shown}) == len(shown)
    assert lights.worst([lights.HEALTHY, lights.STOPPED, lights.STARTING]) == lights.STOPPED
    assert lights.worst([]) == lights.UNKNOWN
