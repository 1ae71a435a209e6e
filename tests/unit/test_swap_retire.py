"""Retiring old containers: the job's outcome and the .pending/.done protocol opsctl_state waits on."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from tests.unit.module_utils import load_module_util

retire = load_module_util("opsctl_retire")


class Recorder:
    def __init__(self, failing: set[str] | None = None, log: Path | None = None) -> None:
        self.calls: list[list[str]] = []
        self.failing = failing or set()
        self.log = log

    def __call__(self, args: Sequence[str]) -> int:
        self.calls.append(list(args))
        if self.log is not None:
            with self.log.open("a") as handle:
                handle.write(" ".join(args) + "\n")
        return 1 if args[-1] in self.failing else 0


def test_retire_drains_then_stops_all_records_then_removes(tmp_path: Path) -> None:
    slept: list[float] = []
    docker = Recorder()
    pending, done = retire.start_job([["a", 10], ["b", 2.5]], str(tmp_path), "run1")
    outcome = retire.retire(docker, [["a", 10], ["b", 2.5]], 0.5, pending, done, sleep=slept.append)
    assert slept == [0.5]
    # the stops run at once (any order), the removals after the record, in order
    assert sorted(map(tuple, docker.calls[:2])) == [("stop", "-t", "10", "a"), ("stop", "-t", "2", "b")]
    assert docker.calls[2:] == [["rm", "-f", "a"], ["rm", "-f", "b"]]
    assert outcome == {"failed": [], "stopped": ["a", "b"], "paused": []}
    assert not Path(pending).exists()
    assert json.loads(Path(done).read_text()) == outcome


def test_a_container_that_cannot_be_stopped_is_killed_before_the_record(tmp_path: Path) -> None:
    docker = Recorder(failing={"b"})  # both stop and rm of b fail
    pending, done = retire.start_job([["a", 10], ["b", 2.5]], str(tmp_path), "run1")
    outcome = retire.retire(docker, [["a", 10], ["b", 2.5]], 0, pending, done, sleep=lambda _: None)
    assert docker.calls[2] == ["rm", "-f", "b"]  # before the record, not after
    assert docker.calls[3:] == [["rm", "-f", "a"]]
    assert outcome == {"failed": ["b"], "stopped": ["a", "b"], "paused": []}
    assert not Path(pending).exists()
    assert json.loads(Path(done).read_text()) == outcome
    assert Path(done) == tmp_path / "retire" / "run1.done"


def test_standbys_are_paused_without_a_restart_policy_and_never_removed(tmp_path: Path) -> None:
    docker = Recorder()
    containers: list[list[object]] = [["web1", 10, "pause"], ["worker1", 20, "stop"]]
    pending, done = retire.start_job(containers, str(tmp_path), "run1")
    outcome = retire.retire(docker, containers, 0, pending, done, sleep=lambda _: None)
    assert ["update", "--restart", "no", "web1"] in docker.calls
    assert docker.calls.index(["update", "--restart", "no", "web1"]) < docker.calls.index(["pause", "web1"])
    assert ["stop", "-t", "20", "worker1"] in docker.calls
    assert not any(c[0] in ("stop", "rm") and c[-1] == "web1" for c in docker.calls)
    assert docker.calls[-1] == ["rm", "-f", "worker1"]
    assert outcome == {"failed": [], "stopped": ["worker1"], "paused": ["web1"]}
    assert json.loads(Path(done).read_text()) == outcome


def test_a_standby_that_cannot_be_paused_is_stopped_and_removed(tmp_path: Path) -> None:
    class NoPause(Recorder):
        def __call__(self, args: Sequence[str]) -> int:
            super().__call__(args)
            return 1 if args[0] == "pause" else 0

    docker = NoPause()
    pending, done = retire.start_job([["web1", 10, "pause"]], str(tmp_path), "run1")
    outcome = retire.retire(docker, [["web1", 10, "pause"]], 0, pending, done, sleep=lambda _: None)
    assert docker.calls[-2:] == [["stop", "-t", "10", "web1"], ["rm", "-f", "web1"]]
    assert outcome == {"failed": [], "stopped": ["web1"], "paused": []}


def test_retire_detached_returns_at_once_and_finishes_in_the_background(tmp_path: Path) -> None:
    log = tmp_path / "docker.log"
    began = time.monotonic()
    retire.retire_detached(Recorder(log=log), [["old", 1]], 0.3, str(tmp_path), "run2")
    assert time.monotonic() - began < 0.25
    assert (tmp_path / "retire" / "run2.pending").exists()
    done = tmp_path / "retire" / "run2.done"
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(done.read_text()) == {"failed": [], "stopped": ["old"], "paused": []}
    assert log.read_text() == "stop -t 1 old\nrm -f old\n"
