"""Deploy events for the dashboard: which Ansible events are kept, the file they go to, the tail."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from opsctl import paths
from opsctl.observe import dashboard_page, events

EXTRAVARS = {"opsctl_app": "hello", "opsctl_env": "lab", "opsctl_release": 7, "opsctl_version": "v2",
             "opsctl_registry_password": "hunter2"}


def ansible(kind: str, task: str, host: str = "lab1", **data: object) -> dict[str, object]:
    return {"event": kind, "event_data": {"task": task, "host": host, "res": {"env": "SECRET=hunter2"}, **data}}


def test_only_swap_steps_of_a_rollout_are_kept_and_no_result() -> None:
    start = events.record("roll.yml", EXTRAVARS, ansible("runner_on_start", "Swap containers"))
    assert start is not None
    assert {k: start[k] for k in ("run", "host", "task", "phase", "release", "version")} == {
        "run": "rollout", "host": "lab1", "task": "Swap containers", "phase": "start", "release": 7, "version": "v2"}
    assert "hunter2" not in json.dumps(start)
    assert events.record("status.yml", EXTRAVARS, ansible("runner_on_ok", "Swap containers")) is None
    assert events.record("roll.yml", EXTRAVARS, ansible("runner_on_ok", "Pause between batches")) is None
    assert events.record("roll.yml", EXTRAVARS, ansible("playbook_on_stats", "Swap containers")) is None
    skipped = events.record("roll.yml", EXTRAVARS, ansible("runner_on_skipped", "Put the host back into the load balancer"))
    assert skipped is not None and skipped["phase"] == "skipped"  # ends the host's "start" of that step
    failed = events.record("roll.yml", EXTRAVARS, ansible("runner_on_failed", "Swap containers"))
    assert failed is not None and failed["phase"] == "failed"


def test_publish_and_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_HOME", str(tmp_path))
    monkeypatch.setattr(paths, "state_home", lambda: tmp_path)
    path = events.event_file("hello", "lab")
    tail = events.Tail(path)
    assert tail.read() == []
    events.from_ansible("roll.yml", EXTRAVARS, ansible("runner_on_start", "Swap containers", host="lab2"))
    events.from_ansible("roll.yml", EXTRAVARS, ansible("runner_on_ok", "Swap containers", host="lab2"))
    assert [(e["host"], e["phase"]) for e in tail.read()] == [("lab2", "start"), ("lab2", "ok")]
    assert tail.read() == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open("a") as f:
        f.write('{"host": "lab3", "pha')  # a line still being written waits for the next read
    assert tail.read() == []
    with path.open("a") as f:
        f.write('se": "start"}\n')
    assert tail.read() == [{"host": "lab3", "phase": "start"}]


def test_publishing_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(paths, "state_home", lambda: blocker)  # events/ cannot be made under a file
    events.from_ansible("roll.yml", EXTRAVARS, ansible("runner_on_start", "Swap containers"))


def test_page_is_a_constant_with_the_svg_and_an_escaped_title() -> None:
    page = dashboard_page.page("<app> / lab", "<?xml?><svg id='x'></svg>", "NONCE123", 1500)
    assert "<title>opsctl: &lt;app&gt; / lab</title>" in page
    assert '<script nonce="NONCE123">' in page and "<?xml" not in page and "<svg id='x'>" in page
    assert "innerHTML" not in page  # remote text goes in with textContent only


def test_board_overlays_swaps_until_status_has_read_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import types
    from datetime import UTC, datetime

    from opsctl.observe import dashboard, lights, topology
    from opsctl.observe.status_view import Snapshot

    monkeypatch.setattr(paths, "state_home", lambda: tmp_path)
    fleet = types.SimpleNamespace(config=types.SimpleNamespace(app="hello"), env_name="lab")
    board = dashboard.Board(fleet, topology.Model("hello-lab"))  # type: ignore[arg-type]
    events.from_ansible("roll.yml", EXTRAVARS, ansible("runner_on_start", "Swap containers", host="lab2"))
    state = board.state()
    key = topology.dom_id("cluster_host:lab2")
    assert state["lights"][key] == lights.STARTING
    assert state["deploy"] == "◐ rollout of release #7 (v2) in progress: lab2 swap containers"
    events.from_ansible("roll.yml", EXTRAVARS, ansible("runner_on_skipped", "Swap containers", host="lab2"))
    assert board.state()["lights"][key] == lights.HEALTHY and board.state()["deploy"] is None
    summary = lights.Summary("ok", True)
    board.snapshot = Snapshot("lab", {}, [], None, [], summary, datetime.now(UTC))
    assert key not in board.state()["lights"]  # status read the host after the swap: it decides


def test_a_rollouts_version_travels_as_data_and_reaches_the_event() -> None:
    from opsctl.deploy.runner import event_vars

    seen = event_vars({"opsctl_app": "shop", "opsctl_env": "prod", "opsctl_release": 7}, {"version": "v2"})
    start = {"event": "runner_on_start", "event_data": {"host": "web1", "task": "Swap containers"}}
    entry = events.record("roll.yml", seen, start)
    assert entry is not None and (entry["release"], entry["version"]) == (7, "v2")
