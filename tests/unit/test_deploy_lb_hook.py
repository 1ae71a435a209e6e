"""The target-group waits, with a fake clock and health source (moto never drains)."""

from __future__ import annotations

import pytest

from opsctl.deploy.lb_hook import wait_for
from opsctl.errors import OpsctlError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waits_through_draining_until_gone() -> None:
    clock = FakeClock()
    states = iter(["draining", "draining", "draining", None])
    result = wait_for(lambda: next(states), lambda s: s in (None, "unused"), 10, clock, clock.sleep)
    assert result is None and clock.now == 3.0


def test_waits_for_healthy_and_times_out_naming_the_state() -> None:
    clock = FakeClock()
    with pytest.raises(OpsctlError, match="timed out after 5s; target state is initial"):
        wait_for(lambda: "initial", lambda s: s == "healthy", 5, clock, clock.sleep)
    assert clock.now == 5.0
