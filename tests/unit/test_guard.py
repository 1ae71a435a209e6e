"""The guard that starts ansible-playbook: its command dies with opsctl, whatever ends opsctl.

These run real processes (no Docker, no SSH): a stand-in for opsctl starts the guard, the guard
starts `sleep` (and a grandchild, like ansible-playbook's worker forks), and the test ends the
stand-in the way a cancelled CI job or a closed terminal would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opsctl.deploy import guard
from opsctl.deploy.runner import guarded_command

GUARD = str(Path(guard.__file__))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if _alive(pid)]


def _start_tree(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A stand-in for opsctl (own session, like ansible-runner's pexpect child) running the guard,
    whose command starts a background grandchild and records both pids."""
    pids = tmp_path / "pids"
    script = f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait"
    parent_code = textwrap.dedent(f"""
        import os, subprocess, sys
        child = subprocess.Popen([sys.executable, "-I", {GUARD!r}, "sh", "-c", {script!r}],
                                 start_new_session=True)
        child.wait()
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pids.exists() and len(pids.read_text().split()) == 2:
            break
        time.sleep(0.05)
    found = [int(p) for p in pids.read_text().split()]
    assert len(found) == 2 and all(_alive(p) for p in found)
    return parent, found


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_command_and_its_children_die_with_the_parent(tmp_path: Path, signum: int) -> None:
    parent, pids = _start_tree(tmp_path)
    if signum == signal.SIGKILL:
        os.killpg(parent.pid, signum)  # the whole process group of "opsctl", as a CI runner does
    else:
        # the stand-in has no handler: it dies of the signal, and the guard must notice
        parent.send_signal(signum)
    parent.wait(timeout=10)
    assert _wait_gone(pids) == [], "the guarded command outlived its parent"


def test_exit_code_is_passed_through() -> None:
    done = subprocess.run([sys.executable, "-I", GUARD, "sh", "-c", "exit 7"], timeout=30)
    assert done.returncode == 7


def test_stop_signal_to_the_guard_ends_the_command_group(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    proc = subprocess.Popen([sys.executable, "-I", GUARD, "sh", "-c", f"sleep 300 & echo $! > {marker}; wait"])
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(marker.read_text())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=guard.GRACE_SECONDS + 10)
    assert _wait_gone([grandchild]) == []


def test_missing_command_is_reported() -> None:
    done = subprocess.run([sys.executable, "-I", GUARD, "/nonexistent/ansible-playbook"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 127
    assert "cannot run /nonexistent/ansible-playbook" in done.stderr


def test_runner_starts_playbooks_through_the_guard(tmp_path: Path) -> None:
    binary, cmdline = guarded_command([tmp_path / "roll.yml"])
    assert binary == sys.executable
    assert cmdline.split() == ["-I", GUARD, "ansible-playbook", str(tmp_path / "roll.yml")]
