"""The session-scoped `lab` fixture: the rehearsal lab (real servers, registry, moto), brought up
once per test run and removed at its end.

OPSCTL_KEEP_LAB=1 keeps it for fast local iteration: `up` reuses a running lab (about a second;
it only replaces what is missing, stopped or made from older images) and the lab is left running
after the run.
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
    state = fleet.up(LAB_HOSTS)  # reuses a running lab as it is (about a second)
    try:
        yield state
    finally:
        if not keep:
            fleet.down()
        else:
            # A kept lab is left as `lab up` made it: no shared ingress holding the servers' port 80.
            from tests.lab.helpers import remove_ingress

            remove_ingress()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_lab_down.py goes last: it takes the whole lab down and up again, which empties the
    registry and the servers' image stores, so every lab test after it would build, push and pull
    the example's images again from cold."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/lab/test_lab_down.py"))  # stable: order kept
