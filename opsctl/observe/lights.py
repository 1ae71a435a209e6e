"""Status lights and the one-line fleet summary: pure functions of what `status` read from the hosts.

A light is a colour and a symbol, so that it reads without colour too (a pipe, a colour-blind
operator, a screenshot in grey).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HEALTHY = "healthy"
RUNNING = "running"  # up, and the service has no HTTP health check
STARTING = "starting"
UNHEALTHY = "unhealthy"
STOPPED = "stopped"
STANDBY = "standby"  # paused by opsctl for a fast rollback (rollout.standby); takes no traffic
UNREACHABLE = "unreachable"
UNKNOWN = "unknown"

# name -> (Rich/CSS colour, symbol). Symbols differ in shape, not only in colour.
LIGHTS: dict[str, tuple[str, str]] = {
    HEALTHY: ("green", "●"),
    RUNNING: ("green", "●"),
    STARTING: ("yellow", "◐"),
    UNHEALTHY: ("red", "✖"),
    STOPPED: ("grey50", "○"),
    STANDBY: ("grey50", "‖"),
    UNREACHABLE: ("magenta", "?"),
    UNKNOWN: ("grey50", "·"),
}
# A worse light wins when several elements fold into one (a host, a service); "healthy" (checked)
# outranks "running" (no check) so that a host of both reads healthy; a standby counts for nothing.
SEVERITY = [STANDBY, RUNNING, HEALTHY, UNKNOWN, STARTING, STOPPED, UNHEALTHY, UNREACHABLE]

# A container younger than this that fails its health check is still starting, not unhealthy.
GRACE_SECONDS = 15.0


def symbol(light: str) -> str:
    return LIGHTS.get(light, LIGHTS[UNKNOWN])[1]


def colour(light: str) -> str:
    return LIGHTS.get(light, LIGHTS[UNKNOWN])[0]


def worst(lights: Sequence[str]) -> str:
    if not lights:
        return UNKNOWN
    return max(lights, key=lambda x: SEVERITY.index(x) if x in SEVERITY else 0)


def _age(started_at: str | None, now: datetime) -> float | None:
    if not started_at:
        return None
    try:
        # Docker writes nanoseconds; fromisoformat takes at most microseconds.
        head, _, rest = started_at.rstrip("Z").partition(".")
        when = datetime.fromisoformat(head + ("." + rest[:6] if rest else "") + "+00:00")
    except ValueError:
        return None
    return (now - when).total_seconds()


def container_light(container: Mapping[str, Any], now: datetime) -> str:
    """The light of one container from its state, health and age."""
    state = container.get("state")
    health = container.get("health")
    if state == "running":
        if health == "healthy":
            return HEALTHY
        if health == "unhealthy":
            age = _age(container.get("started_at"), now)
            return STARTING if age is not None and age < GRACE_SECONDS else UNHEALTHY
        return RUNNING
    if state in {"created", "restarting"}:
        return STARTING
    if state == "paused":
        return STANDBY
    if state in {"exited", "dead", "removing"}:
        return STOPPED
    return UNKNOWN


@dataclass
class ServiceSpec:
    """What the config expects of a service in one environment."""

    name: str
    http: bool
    singleton: bool
    replicas: int
    hosts: list[str]

    @property
    def expected(self) -> int:
        return 1 if self.singleton else self.replicas * len(self.hosts)


@dataclass
class Summary:
    text: str
    ok: bool
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, list[str]] = field(default_factory=dict)  # version -> hosts running it

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "ok": self.ok, "services": self.services, "versions": self.versions}


def _service_part(spec: ServiceSpec, mine: list[tuple[str, str]], unreachable: list[str]) -> tuple[str, bool, dict[str, Any]]:
    """`mine`: (host, light) of each of the service's containers."""
    up = [(h, light) for h, light in mine if light in {HEALTHY, RUNNING}]
    lost = sorted({h for h in spec.hosts if h in unreachable})
    detail: dict[str, Any] = {"expected": spec.expected, "up": len(up), "hosts": sorted({h for h, _ in up})}
    if spec.singleton:
        where = sorted({h for h, _ in up})
        if len(where) == 1 and len(up) == 1:
            text, ok = f"{spec.name} on {where[0]}", True
        elif not up:
            text, ok = f"{spec.name} not running", False
        else:
            text, ok = f"{spec.name} on {', '.join(where)} ({len(up)} copies)", False
    else:
        word = "healthy" if spec.http else "running"
        ok = len(up) == spec.expected
        text = f"{len(up)}/{spec.expected} {spec.name} {word}"
    if lost:
        text += f" ({', '.join(lost)} unreachable)"
    return text, ok, detail


def _release_part(current: Mapping[str, Any] | None, versions: dict[str, list[str]]) -> tuple[str, bool]:
    head = f"release #{current['number']} {current['version']}" if current else "no release yet"
    if not versions:
        return f"{head}; nothing running", current is None
    if len(versions) == 1:
        (version, _), = versions.items()
        if current is None or version == current["version"]:
            return f"{head} everywhere", True
        return f"{head}; every host runs {version}", False
    # Hosts disagree: say which host runs what, the expected version first.
    order = sorted(versions, key=lambda v: (current is None or v != current["version"], v))
    where = ", ".join(f"{','.join(versions[v])} on {v}" for v in order)
    return f"{head}; hosts differ: {where}", False


def watcher_part(hosts: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[str, bool]:
    """Where the fleet's own watcher (`watch --install`) runs; "" when none is installed."""
    found = [(host, c.get("state")) for host, containers in sorted(hosts.items()) for c in containers
             if c.get("role") == "watch"]
    running = [h for h, state in found if state == "running"]
    if not found:
        return "", True
    if len(running) == 1 and len(found) == 1:
        return f"watch on {running[0]}", True
    if not running:
        return f"watch stopped on {', '.join(h for h, _ in found)}", False
    return f"watch on {', '.join(running)} ({len(running)} copies)", False


def host_versions(hosts: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, list[str]]:
    """version -> hosts whose running app containers carry it (a host mid-swap appears twice)."""
    found: dict[str, list[str]] = {}
    for host, containers in hosts.items():
        for c in containers:
            version = c.get("version")
            if c.get("role", "app") == "app" and c.get("state") == "running" and version:
                if host not in found.setdefault(str(version), []):
                    found[str(version)].append(host)
    return {v: sorted(hs) for v, hs in sorted(found.items())}


def summarize(
    specs: Sequence[ServiceSpec],
    hosts: Mapping[str, Sequence[Mapping[str, Any]]],
    current: Mapping[str, Any] | None,
    unreachable: Sequence[str],
    now: datetime,
) -> Summary:
    """`6/6 web healthy, 3/3 worker running, clock on lab2; release #14 v2 everywhere`."""
    parts: list[str] = []
    ok = not unreachable
    detail: dict[str, dict[str, Any]] = {}
    for spec in specs:
        mine = [
            (host, container_light(c, now))
            for host, containers in hosts.items()
            for c in containers
            if c.get("service") == spec.name and c.get("role", "app") == "app"
        ]
        text, good, detail[spec.name] = _service_part(spec, mine, list(unreachable))
        parts.append(text)
        ok = ok and good
    watch_text, watch_ok = watcher_part(hosts)
    if watch_text:
        parts.append(watch_text)
        ok = ok and watch_ok
    versions = host_versions(hosts)
    release_text, release_ok = _release_part(current, versions)
    text = ", ".join(parts) + "; " + release_text
    if unreachable:
        text += f"; unreachable: {', '.join(sorted(unreachable))}"
    return Summary(text=text, ok=ok and release_ok, services=detail, versions=versions)
