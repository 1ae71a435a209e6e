"""The deploy lock: taking it (one loop for deploy, rollback, `releases --repair` and `opsctl lock
acquire`), who holds it, and whether that holder still exists.

The lock itself lives on the fleet (opsctl_state.py: an atomic mkdir on the lock host). Its
info.json records the holder: the person, the machine, and for a deploy or rollback the process
(pid and start time). A lock never expires on its own; instead, when the holder ran on this
machine and its process is gone (or its pid now belongs to another process, told apart by start
time), opsctl says so and names the one command that takes the lock over.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from opsctl import output
from opsctl.errors import OpsctlError

ALIVE = "alive"  # the holding process runs on this machine
GONE = "gone"  # it ran on this machine and is no longer running
REUSED = "reused"  # its pid runs again, but as a process started later: the holder is gone
ELSEWHERE = "elsewhere"  # held from another machine: opsctl cannot tell whether it lives
MANUAL = "manual"  # `opsctl lock acquire`: held until released, by design
UNKNOWN = "unknown"  # an older holder record without machine and start time

# /proc start times are in clock ticks (1/100 s); the recorded value is rounded to that.
START_TOLERANCE = 1.0


class Holder(BaseModel):
    """info.json as read back from the lock host (not trusted: validated, unknown keys ignored)."""

    model_config = ConfigDict(strict=True, extra="ignore")

    who: str = "someone"
    since: str | None = None
    version: str | None = None
    message: str | None = None
    action: str | None = None
    pid: int | None = None
    machine: str | None = None
    started: float | None = None
    note: str | None = None

    @classmethod
    def read(cls, data: Any) -> Holder:
        if not isinstance(data, dict):
            return cls(note="the lock's info.json is unreadable")
        try:
            return cls.model_validate(data)
        except ValidationError:
            return cls(note="the lock's info.json is not what opsctl writes")


@dataclass(frozen=True)
class Process:
    alive: bool
    started: float | None  # seconds since the epoch; None where /proc cannot tell


def local_process(pid: int) -> Process:
    """Whether `pid` runs on this machine, and since when (Linux /proc; elsewhere liveness only)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return Process(False, None)
    except PermissionError:
        pass
    except OSError:
        return Process(False, None)
    return Process(True, process_started(pid))


def process_started(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    try:
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
    except (IndexError, ValueError):
        return None
    return round(boot + ticks / os.sysconf("SC_CLK_TCK"), 2)


def machine() -> str:
    return socket.gethostname()


def liveness(holder: Holder, here: str, probe: Callable[[int], Process]) -> str:
    """Pure decision (given a process probe): is the lock's holder still there?"""
    if holder.action == "manual lock" or (holder.pid is None and holder.machine is not None):
        return MANUAL
    if holder.pid is None or holder.machine is None:
        return UNKNOWN
    if holder.machine != here:
        return ELSEWHERE
    process = probe(holder.pid)
    if not process.alive:
        return GONE
    if holder.started is not None and process.started is not None \
            and abs(process.started - holder.started) > START_TOLERANCE:
        return REUSED
    return ALIVE


def is_stale(state: str) -> bool:
    return state in (GONE, REUSED)


def describe(holder: Holder) -> str:
    parts = [holder.who]
    if holder.action:
        parts.append(f"{holder.action} {holder.version or ''}".strip())
    if holder.since:
        parts.append(f"since {holder.since}")
    if holder.message:
        parts.append(f"({holder.message})")
    if holder.pid:
        parts.append(f"pid {holder.pid}" + (f" on {holder.machine}" if holder.machine else ""))
    if holder.note:
        parts.append(f"[{holder.note}]")
    return " ".join(parts)


def explain(holder: Holder, state: str) -> str:
    """Why the holder is (or may be) gone, for a person; empty when there is nothing to add."""
    if state == GONE:
        return f"that process is gone: pid {holder.pid} is no longer running on this machine"
    if state == REUSED:
        return f"that process is gone: pid {holder.pid} now belongs to a process started later"
    if state == ELSEWHERE:
        return f"it runs on another machine ({holder.machine}); opsctl cannot check it from here"
    return ""


def release_command(env: str, force: bool = False) -> str:
    return f"opsctl lock release -e {env}" + (" --force" if force else "")


class LockHeld(OpsctlError):
    """The deploy lock is held by someone else; says whether that holder is gone and what to do."""

    def __init__(self, holder: Holder, state: str, env: str):
        why = explain(holder, state)
        if is_stale(state):
            hint = f"take the lock over with: {release_command(env)}"
        elif state == MANUAL:
            hint = f"wait with --lock-wait SECONDS, or end the maintenance lock: {release_command(env)}"
        else:
            hint = ("wait with --lock-wait SECONDS, or if that process is gone: "
                    f"{release_command(env, force=True)}")
        super().__init__(f"the deploy lock is held by {describe(holder)}" + (f"; {why}" if why else ""),
                         hint=hint)
        self.holder = holder
        self.state = state


class Attempted(Protocol):
    """What one attempt to take the lock found (fleet.FleetState)."""

    @property
    def held_by_other(self) -> bool: ...

    @property
    def holder(self) -> Holder | None: ...


State = TypeVar("State", bound=Attempted)


def acquire_lock(attempt: Callable[[], State], *, lock_wait: float, env: str,
                 on_held: Callable[[], None] | None = None,
                 probe: Callable[[int], Process] = local_process) -> State:
    """Run `attempt` (a state.yml run that takes the lock and reads every ledger copy) until it gets
    the lock, or raise LockHeld: at once when the holder is gone (a stale lock is never waited
    on), else after `lock_wait` seconds. `on_held` runs each time the lock turns out to be someone
    else's. Any other failure is the attempt's own OpsctlError.
    """
    deadline = time.monotonic() + lock_wait
    while True:
        state = attempt()
        if not state.held_by_other:
            return state
        if on_held is not None:
            on_held()
        other = state.holder or Holder(note="no holder information")
        live = liveness(other, machine(), probe)
        if is_stale(live) or time.monotonic() >= deadline:
            raise LockHeld(other, live, env)
        output.step(f"waiting for the deploy lock ({describe(other)})")
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
