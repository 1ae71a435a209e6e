"""Where a deploy's or rollback's time went: each phase, overall and per host, from one run's results.

Pure: it reads the task durations the runner recorded (RunResult.durations) and the numbers the
swap module reports about its own steps, which are validated here like any data from a server.
"""

from __future__ import annotations

import math
from typing import Any

from opsctl.deploy.runner import RunResult

# The task that does each phase (playbooks/*.yml), in the order a deploy runs them.
PHASES: dict[str, str] = {
    "Lock and ledger": "lock",
    "Write configs and log in to the registry": "configs",
    "Pull the image": "pull",
    "Wait for opsctl's decision": "decide",
    "Run the release command": "release",
    "Start new containers ahead": "prestart",
    "Take the host out of the load balancer": "lb_out",
    "Swap containers": "swap",
    "Put the host back into the load balancer": "lb_in",
    "Finish the rollout": "finish",
}
# What the swap module reports inside its own step (opsctl_swap's `timings`), and the login inside
# the configs step, which pulls too (opsctl_prepare's).
SWAP_STEPS = ("facts", "start", "healthy", "switch")
PREPARE_STEPS = ("login", "pull")
FINISH_STEPS = ("drain", "ledger")


def phases(result: RunResult) -> dict[str, float]:
    """Wall seconds of each phase: from its first host's start to its last host's end."""
    spans: dict[str, tuple[float, float]] = {}
    for _host, task, began, took in result.durations:
        phase = PHASES.get(task)
        if phase is None:
            continue
        first, last = spans.get(phase, (began, began + took))
        spans[phase] = (min(first, began), max(last, began + took))
    order = list(PHASES.values())
    return {p: round(spans[p][1] - spans[p][0], 2) for p in sorted(spans, key=order.index)}


def per_host(result: RunResult) -> dict[str, dict[str, float]]:
    """Seconds of each phase on each host, with the swap's and the configs' own steps."""
    hosts: dict[str, dict[str, float]] = {}
    for host, task, _began, took in result.durations:
        phase = PHASES.get(task)
        if phase is not None and host != "localhost":
            hosts.setdefault(host, {})[phase] = round(took, 2)
    for task, steps in (("Swap containers", SWAP_STEPS), ("Write configs and log in to the registry", PREPARE_STEPS),
                        ("Finish the rollout", FINISH_STEPS)):
        for r in result.results:
            if r.task == task and r.status == "ok" and r.host in hosts:
                hosts[r.host].update(_reported(r.result.get("timings"), steps))
    return hosts


def _reported(raw: Any, steps: tuple[str, ...]) -> dict[str, float]:
    """A module's own step timings, keeping only known steps with sane numbers."""
    if not isinstance(raw, dict):
        return {}
    found = {}
    for step in steps:
        value = raw.get(step)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
                and 0 <= value < 86400:
            found[step] = round(float(value), 2)
    return found
