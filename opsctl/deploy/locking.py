"""Taking the deploy lock, with waiting: one loop for deploy, rollback and `opsctl lock acquire`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opsctl import output
from opsctl.deploy.fleet import describe_holder
from opsctl.deploy.runner import RunResult, TaskResult
from opsctl.errors import OpsctlError

WAIT_HINT = "wait with --lock-wait SECONDS, or if that process is gone: opsctl lock release"


class LockHeld(OpsctlError):
    def __init__(self, holder: dict[str, Any], hint: str = WAIT_HINT):
        super().__init__(f"the deploy lock is held by {describe_holder(holder)}", hint=hint)
        self.holder = holder


Attempt = Callable[[], tuple[RunResult, TaskResult | None]]


def acquire_lock(attempt: Attempt, *, lock_wait: float, failed: Callable[[RunResult], OpsctlError],
                 on_held: Callable[[], None] | None = None,
                 held_hint: str = WAIT_HINT) -> tuple[RunResult, TaskResult]:
    """Run `attempt` (a playbook run that takes the lock; returns the lock task's result) until it
    gets the lock or `lock_wait` seconds have passed (then LockHeld). Any other failure raises
    `failed(result)`; `on_held` runs each time the lock turns out to be someone else's.
    """
    deadline = time.monotonic() + lock_wait
    while True:
        result, task = attempt()
        if result.ok and task is not None:
            return result, task
        if task is None or not task.result.get("lock_held"):
            raise failed(result)
        if on_held is not None:
            on_held()
        holder = task.result.get("holder") or {}
        if time.monotonic() >= deadline:
            raise LockHeld(holder, held_hint)
        output.step(f"waiting for the deploy lock ({describe_holder(holder)})")
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
