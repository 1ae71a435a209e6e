"""The health watch's decisions, free of I/O: what each check says, when a change is real (damping),
when a key flaps, and the one message a round of changes becomes.

Keys name what is watched: "ingress lab1" (the host's proxy answering HTTP) and "web on lab1" (a
service's containers on one host), "clock" (a singleton, fleet-wide).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsctl.observe import lights
from opsctl.observe.lights import ServiceSpec

OK = "ok"
DOWN = "down"


@dataclass
class Observation:
    state: str  # ok | down
    detail: str


def service_observations(
    specs: Sequence[ServiceSpec], hosts: Mapping[str, Sequence[Mapping[str, Any]]], unreachable: Sequence[str]
) -> dict[str, Observation]:
    """From one status read: each service on each host (a singleton: fleet-wide) is ok or down."""
    found: dict[str, Observation] = {}
    for spec in specs:
        if spec.singleton:
            where = [h for h in spec.hosts for c in hosts.get(h, []) if _up(c, spec.name)]
            if any(h in unreachable for h in spec.hosts) and not where:
                continue  # cannot tell where it runs while a host is silent; the ingress check says more
            state = OK if len(where) == 1 else DOWN
            found[spec.name] = Observation(state, f"running on {', '.join(where)}" if where else "not running")
            continue
        for host in spec.hosts:
            if host in unreachable:
                continue  # the host's own check reports it; no second alert per service
            mine = [c for c in hosts.get(host, []) if c.get("service") == spec.name and c.get("role", "app") == "app"]
            up = [c for c in mine if _up(c, spec.name)]
            word = "healthy" if spec.http else "running"
            detail = f"{len(up)}/{spec.replicas} {word}"
            bad = [f"{c.get('name')} {c.get('light')}" for c in mine if not _up(c, spec.name)]
            if bad:
                detail += f" ({', '.join(str(b) for b in bad)})"
            found[f"{spec.name} on {host}"] = Observation(OK if len(up) >= spec.replicas else DOWN, detail)
    return found


def _up(container: Mapping[str, Any], service: str) -> bool:
    return container.get("service") == service and container.get("light") in {lights.HEALTHY, lights.RUNNING}


@dataclass
class Change:
    key: str
    state: str  # ok (recovered) | down | flapping
    detail: str


@dataclass
class _Track:
    reported: str | None = None  # the state last alerted (None: the first reading, not alerted)
    pending: str | None = None
    count: int = 0
    flips: list[float] = field(default_factory=list)
    flapping: bool = False
    detail: str = ""


class Damper:
    """A state change counts after `confirm` readings in a row; a key that changes `flap_changes`
    times within `flap_window` seconds is reported once as flapping, then silent until it has held
    one state for the window."""

    def __init__(self, confirm: int = 2, flap_changes: int = 4, flap_window: float = 300.0) -> None:
        self.confirm = confirm
        self.flap_changes = flap_changes
        self.flap_window = flap_window
        self.tracks: dict[str, _Track] = {}

    def feed(self, readings: Mapping[str, Observation], now: float) -> list[Change]:
        changes: list[Change] = []
        for key, seen in readings.items():
            track = self.tracks.setdefault(key, _Track())
            track.detail = seen.detail
            if track.reported is None:
                # The first reading sets the baseline; a fleet already broken at start is in the summary.
                track.reported = seen.state
                continue
            if seen.state == track.reported:
                track.pending, track.count = None, 0
                if track.flapping and all(now - t > self.flap_window for t in track.flips[-1:]):
                    track.flapping = False
                    changes.append(Change(key, seen.state, f"stable again: {seen.detail}"))
                continue
            track.count = track.count + 1 if track.pending == seen.state else 1
            track.pending = seen.state
            if track.count < self.confirm:
                continue
            track.reported, track.pending, track.count = seen.state, None, 0
            track.flips = [t for t in track.flips if now - t <= self.flap_window] + [now]
            if track.flapping:
                continue
            if len(track.flips) >= self.flap_changes:
                track.flapping = True
                changes.append(Change(key, "flapping", f"{len(track.flips)} changes in {self.flap_window:g} s; "
                                                       f"now {seen.state}: {seen.detail}"))
                continue
            changes.append(Change(key, seen.state, seen.detail))
        return changes

    def wrong(self) -> list[str]:
        """Everything currently reported down, for the summary."""
        return [f"{key}: {t.detail}" for key, t in sorted(self.tracks.items()) if t.reported == DOWN]


def message(app: str, env: str, changes: Sequence[Change], wrong: Sequence[str]) -> dict[str, Any]:
    """One notification for one round's changes, with a summary of everything still wrong."""
    words = {OK: "recovered", DOWN: "DOWN", "flapping": "FLAPPING"}
    lines = [f"{words.get(c.state, c.state)}: {c.key} ({c.detail})" for c in changes]
    headline = "; ".join(lines)
    summary = "all checks pass" if not wrong else "still wrong: " + "; ".join(wrong)
    return {
        "app": app,
        "env": env,
        "kind": "health",
        "title": f"{app}/{env}: {headline}",
        "changes": [{"key": c.key, "state": c.state, "detail": c.detail} for c in changes],
        "summary": summary,
        "ok": not wrong,
    }
