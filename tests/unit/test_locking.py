"""Stale deploy locks: a holder on this machine whose process is gone is recognised as gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from opsctl.deploy import locking
from opsctl.deploy.fleet import holder_info


def holder(**changes: object) -> locking.Holder:
    base = {"who": "ann@ci", "since": "2026-11-23T06:00:00Z", "version": "v2", "action": "deploy",
            "pid": 4242, "machine": "ci-runner", "started": 1000.0}
    return locking.Holder.read({**base, **changes})


@pytest.mark.parametrize(
    ("record", "process", "expected"),
    [
        (holder(), locking.Process(True, 1000.3), locking.ALIVE),
        (holder(), locking.Process(False, None), locking.GONE),
        (holder(), locking.Process(True, 1500.0), locking.REUSED),  # the pid now names another process
        (holder(), locking.Process(True, None), locking.ALIVE),  # no start time to compare: trust the pid
        (holder(machine="laptop"), locking.Process(False, None), locking.ELSEWHERE),
        (holder(action="manual lock", pid=None), locking.Process(False, None), locking.MANUAL),
        (holder(machine=None), locking.Process(False, None), locking.UNKNOWN),  # an older record
    ],
)
def test_liveness(record: locking.Holder, process: locking.Process, expected: str) -> None:
    assert locking.liveness(record, "ci-runner", lambda pid: process) == expected


def test_a_stale_lock_error_names_the_take_over_command() -> None:
    error = locking.LockHeld(holder(), locking.GONE, "lab")
    assert "pid 4242 on ci-runner" in error.message
    assert "that process is gone: pid 4242 is no longer running on this machine" in error.message
    assert error.hint == "take the lock over with: opsctl lock release -e lab"
    alive = locking.LockHeld(holder(), locking.ALIVE, "lab")
    assert alive.hint is not None and "--lock-wait" in alive.hint and "--force" in alive.hint


def test_a_real_dead_process_and_a_real_live_one() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    here = locking.machine()
    gone = holder(machine=here, pid=child.pid, started=None)
    assert locking.liveness(gone, here, locking.local_process) == locking.GONE
    me = locking.Holder.read(holder_info("v1", None, "deploy"))
    assert me.pid == os.getpid() and me.machine == here and me.started is not None
    assert locking.liveness(me, here, locking.local_process) == locking.ALIVE
    reused = me.model_copy(update={"started": me.started - 3600})
    assert locking.liveness(reused, here, locking.local_process) == locking.REUSED


def test_a_manual_lock_records_no_process() -> None:
    manual = holder_info(None, "maintenance", "manual lock")
    assert manual["pid"] is None and manual["machine"] == locking.machine()


def test_unreadable_holder_records_do_not_crash() -> None:
    assert locking.Holder.read(["x"]).note == "the lock's info.json is unreadable"
    assert locking.Holder.read({"pid": "12"}).note == "the lock's info.json is not what opsctl writes"


class Found:
    """One attempt's outcome, as Fleet.read_state reports it."""

    def __init__(self, holder: locking.Holder | None) -> None:
        self.held_by_other = holder is not None
        self.holder = holder


def attempts(outcomes: list[locking.Holder | None], log: list[str]) -> Callable[[], Found]:
    pending = list(outcomes)

    def attempt() -> Found:
        log.append("attempt")
        return Found(pending.pop(0))

    return attempt


def test_acquire_lock_waits_for_a_live_holder_then_takes_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    monkeypatch.setattr(time, "sleep", lambda seconds: log.append("sleep"))
    live = holder(machine=locking.machine())
    state = locking.acquire_lock(attempts([live, live, None], log), lock_wait=5, env="lab",
                                 on_held=lambda: log.append("held"),
                                 probe=lambda pid: locking.Process(True, 1000.0))
    assert not state.held_by_other
    assert log == ["attempt", "held", "sleep", "attempt", "held", "sleep", "attempt"]


def test_acquire_lock_never_waits_on_a_gone_holder() -> None:
    log: list[str] = []
    gone = holder(machine=locking.machine())
    with pytest.raises(locking.LockHeld) as caught:
        locking.acquire_lock(attempts([gone, None], log), lock_wait=60, env="lab",
                             probe=lambda pid: locking.Process(False, None))
    assert log == ["attempt"] and caught.value.state == locking.GONE
    assert caught.value.hint == "take the lock over with: opsctl lock release -e lab"


def test_acquire_lock_gives_up_after_lock_wait() -> None:
    log: list[str] = []
    elsewhere = holder(machine="another-machine")
    with pytest.raises(locking.LockHeld) as caught:
        locking.acquire_lock(attempts([elsewhere] * 10, log), lock_wait=0, env="lab")
    assert log == ["attempt"] and caught.value.state == locking.ELSEWHERE
