"""The session-scoped `lab` fixture: the rehearsal lab (real servers, registry, moto), brought up
once per test run and removed at its end.

OPSCTL_KEEP_LAB=1 keeps it for fast local iteration: a running lab is reused as it is (no `up`
at all when it already has at least 3 running servers) and left running after the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from opsctl.lab.state import LabState

LAB_HOSTS = 3


@pytest.fixture(scope="session")
def lab() -> Iterator[LabState]:
    from opsctl.lab import fleet

    keep = os.environ.get("OPSCTL_KEEP_LAB") == "1"
    state = None
    if keep:
        current = fleet.status()
        if current.up and len(current.hosts) >= LAB_HOSTS and current.inventory_path.exists():
            state = current
    if state is None:
        state = fleet.up(LAB_HOSTS)
    try:
        yield state
    finally:
        if not keep:
            fleet.down()
