"""Deploy progress as a local event file the dashboard tails: ~/.opsctl/events/APP-ENV.jsonl.

The runner calls `from_ansible` for every Ansible event of every run; only a rollout's swap steps
are kept (which host is swapping, which swapped, which failed). Each record holds names, times and
statuses, never a task's result (results can carry env values). Publishing never fails a deploy:
a disk problem costs the dashboard its live view, nothing more.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from opsctl import paths

# Playbook -> kind of run the dashboard shows; the tasks whose start and end move a host's light.
WATCHED = {"roll.yml": "rollout"}
STEPS = {"Take the host out of the load balancer", "Swap containers", "Put the host back into the load balancer"}
KEEP_BYTES = 1_000_000  # the file is cut back to its newest half past this size


def events_dir() -> Path:
    return paths.state_home() / "events"


def event_file(app: str, env: str) -> Path:
    return events_dir() / f"{app}-{env}.jsonl"


def record(playbook: str, extravars: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
    """The record to publish for one ansible-runner event, or None (pure)."""
    if playbook not in WATCHED:
        return None
    kind = event.get("event", "")
    data = event.get("event_data") or {}
    task = str(data.get("task", "")).strip()
    phase = {
        "runner_on_start": "start", "runner_on_ok": "ok", "runner_on_failed": "failed",
        "runner_on_unreachable": "unreachable", "runner_on_skipped": "skipped",
    }.get(kind)
    if phase is None or task not in STEPS:
        return None
    if phase == "failed" and data.get("ignore_errors"):
        phase = "ok"
    return {
        "time": time.time(),
        "run": WATCHED[playbook],
        "host": str(data.get("host", "")),
        "task": task,
        "phase": phase,
        "release": extravars.get("opsctl_release"),
        "version": extravars.get("opsctl_version"),
    }


def from_ansible(playbook: str, extravars: dict[str, Any], event: dict[str, Any]) -> None:
    """Publish one event of a run if the dashboard wants it. Never raises."""
    try:
        entry = record(playbook, extravars, event)
        if entry is None:
            return
        publish(str(extravars.get("opsctl_app", "")), str(extravars.get("opsctl_env", "")), entry)
    except Exception:  # a live view must never break the deploy it watches
        return


def publish(app: str, env: str, entry: dict[str, Any]) -> None:
    if not app or not env:
        return
    folder = events_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = event_file(app, env)
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > KEEP_BYTES:
        data = path.read_bytes()
        keep = data[len(data) // 2:]
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(keep[keep.find(b"\n") + 1:])
        tmp.chmod(0o600)
        tmp.replace(path)


class Tail:
    """New records of an event file since the last read (from its end when the tail starts)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # cut back or replaced: read it from the start
            self.offset = 0
        if size == self.offset:
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        end = chunk.rfind(b"\n") + 1  # a half-written last line waits for the next read
        self.offset += end
        found = []
        for raw in chunk[:end].splitlines():
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict):
                found.append(item)
        return found
