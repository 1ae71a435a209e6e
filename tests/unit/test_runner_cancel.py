"""A stop signal cancels a running playbook at once (real ansible-playbook against this machine).

ansible-runner looks at its cancel callback once per pexpect wait; with its default of 5 s, a
batch-1 roll went on to swap the next host after SIGTERM. No Docker or SSH here: the play runs a
local `sleep`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from opsctl import paths
from opsctl.deploy import runner


def test_sigterm_cancels_a_running_playbook_within_a_second_or_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = tmp_path / "playbooks"
    books.mkdir()
    (books / "sleep.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Sleep\n      ansible.builtin.command: sleep 30\n"
    )
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    monkeypatch.setattr(paths, "playbooks_dir", lambda: books)
    monkeypatch.setenv("OPSCTL_HOME", str(tmp_path / "home"))

    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    started = time.monotonic()
    timer.start()
    with pytest.raises(runner.RunInterrupted):
        runner.run_playbook("sleep.yml", inventory, {}, forks=1, label="cancel", quiet=True)
    took = time.monotonic() - started
    timer.cancel()
    assert took < 4.5, f"the playbook was cancelled only after {took:.1f}s"
