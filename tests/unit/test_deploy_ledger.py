"""The release ledger's decisions: numbering, current release, rollback targets."""

from __future__ import annotations

from typing import Literal

import pytest

from opsctl.deploy import ledger
from opsctl.errors import OpsctlError


def rel(number: int, version: str, status: ledger.Status = ledger.SUCCEEDED,
        kind: Literal["deploy", "rollback"] = "deploy", target: int | None = None) -> ledger.Release:
    return ledger.Release(
        number=number, version=version, image=f"app:{version}", digest=None, config_hash="0123456789ab",
        who="me", when="t", status=status, previous=number - 1 or None, kind=kind, target=target,
    )


def test_next_number_and_current() -> None:
    assert ledger.next_number([]) == 1
    history = [rel(1, "v1"), rel(2, "v2"), rel(3, "v3", status=ledger.ROLLED_BACK)]
    assert ledger.next_number(history) == 4
    current = ledger.current(history)
    assert current is not None and current.number == 2


@pytest.mark.parametrize(
    ("history", "version", "expected"),
    [
        ([rel(1, "v1"), rel(2, "v2")], None, 1),
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3")], None, 2),
        # after a rollback to #2, the next rollback walks further back, not forward to v3
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3"), rel(4, "v2", kind="rollback", target=2)], None, 1),
        # a failed deploy is never a rollback target
        ([rel(1, "v1"), rel(2, "v2", status=ledger.FAILED), rel(3, "v3")], None, 1),
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3")], "v1", 1),
        # an interrupted or paused attempt left the fleet mixed: rollback converges on the current one
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3", status=ledger.INTERRUPTED)], None, 2),
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3", status=ledger.FAILED)], None, 2),
        # an automatic rollback already brought the fleet back: the next rollback walks back as usual
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v3", status=ledger.ROLLED_BACK)], None, 1),
    ],
)
def test_rollback_target(history: list[ledger.Release], version: str | None, expected: int) -> None:
    assert ledger.rollback_target(history, version).number == expected


@pytest.mark.parametrize(
    ("history", "version", "message"),
    [
        ([], None, "nothing has been deployed"),
        ([rel(1, "v1")], None, "no earlier succeeded release"),
        ([rel(1, "v1"), rel(2, "v2"), rel(3, "v1", kind="rollback", target=1)], None, "no earlier"),
        ([rel(1, "v1")], "v9", "no succeeded release of version 'v9'"),
    ],
)
def test_rollback_target_refuses(history: list[ledger.Release], version: str | None, message: str) -> None:
    with pytest.raises(OpsctlError, match=message):
        ledger.rollback_target(history, version)


def test_roundtrip_and_append() -> None:
    history = [rel(1, "v1"), rel(2, "v2")]
    again = ledger.parse(ledger.append(history, rel(3, "v3")), "app")
    assert again[-1].title == "deploy v3" and again[:2] == history
    with pytest.raises(OpsctlError):
        ledger.append(history, rel(2, "v9"))
