"""Seeing the system on the lab: status lights and summary, merged logs (history, --grep, --since,
--json, -f), on 3 real servers running the example app."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from opsctl.paths import lab_dir
from tests.lab.helpers import HELLO, HelloImages, get, hosts, http_ports, opsctl, reset_fleet, ssh

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return opsctl(*args, env=ENV, check=check)


@pytest.fixture(scope="module")
def deployed(images: HelloImages) -> None:
    reset_fleet()
    run("deploy", "v1", "-e", "lab")


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "opsctl", *args], cwd=HELLO, env={**os.environ, **ENV, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def mark(host: str, marker: str) -> None:
    """One request to a host's ingress: its web container logs the (404) path."""
    get(f"http://127.0.0.1:{http_ports()[host]}/{marker}")


def remote_followers(host: str) -> list[str]:
    out = ssh(host, "ps", "-eo", "args")
    return [line for line in out.splitlines() if "docker logs -f" in line or "Runs ON a host" in line]


# ---- status ----------------------------------------------------------------------------------


def test_status_has_lights_and_a_summary(deployed: None) -> None:
    data = json.loads(run("status", "-e", "lab", "--json").stdout)
    text = data["summary"]["text"]
    assert text.startswith("6/6 web healthy, 3/3 worker running, clock on lab"), text
    assert text.endswith(f"release #{data['current']['number']} v1 everywhere"), text
    assert data["summary"]["ok"] is True
    lights = {c["light"] for cs in data["hosts"].values() for c in cs}
    assert lights <= {"healthy", "running"}, lights
    assert set(data) >= {"env", "current", "hosts", "unreachable"}  # the shape it always had

    human = run("status", "-e", "lab")
    assert "● healthy" in human.stdout and "● running" in human.stdout
    assert "lab: 6/6 web healthy" in human.stdout


def test_status_watch_refreshes_until_ctrl_c(deployed: None, tmp_path: Path) -> None:
    # A state home of its own: each refresh is one playbook run, whose artifacts land in its runs/.
    home = tmp_path / "home"
    proc = start("status", "-e", "lab", "--watch", "--interval", "1",
                 env={"OPSCTL_HOME": str(home), "OPSCTL_LAB_DIR": str(lab_dir())})
    deadline = time.monotonic() + 60
    while len(list((home / "runs").glob("*/artifacts/*/status"))) < 2:  # two reads of the fleet done
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "status --watch did not read the fleet twice within 60 s"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "6/6 web healthy" in out and "stopped watching" in err
    assert "Traceback" not in err


def test_status_names_what_is_down(deployed: None) -> None:
    lab1 = sorted(hosts())[0]
    name = ssh(lab1, "docker", "ps", "-q", "--filter", "label=opsctl.service=web").split()[0]
    ssh(lab1, "docker", "stop", "-t", "1", name)
    try:
        data = json.loads(run("status", "-e", "lab", "--json").stdout)
        assert data["summary"]["text"].startswith("5/6 web healthy"), data["summary"]
        assert data["summary"]["ok"] is False
        assert "○ stopped" in run("status", "-e", "lab").stdout
    finally:
        ssh(lab1, "docker", "start", name)


# ---- logs ------------------------------------------------------------------------------------


def test_logs_are_merged_in_time_order_with_prefixes(deployed: None) -> None:
    tag = uuid.uuid4().hex[:8]
    sent = []
    for i, host in enumerate(sorted(hosts()) * 2):
        marker = f"obs-{tag}-{i}-{host}"
        mark(host, marker)
        sent.append((host, marker))
        time.sleep(0.05)
    found = [json.loads(line) for line in run("logs", "web", "-e", "lab", "--json", "--grep", f"obs-{tag}").stdout.splitlines()]
    assert [(x["host"], x["message"].split("GET /")[1].split()[0]) for x in found] == sent
    assert all(x["service"] == "web" and x["container"].startswith("hello") for x in found)
    times = [x["time"] for x in found]
    assert len(times) == len(sent)

    # (Without SERVICE the proxy's lines come too: it may log the same path, e.g. a refused upstream.)
    human = run("logs", "web", "-e", "lab", "--grep", f"obs-{tag}-0-").stdout.splitlines()
    assert len(human) == 1 and human[0].startswith(f"{sent[0][0]}/hello"), human
    assert " | " in human[0]

    # Every service when none is named: the clock and workers are there too.
    services = {json.loads(x)["service"] for x in run("logs", "-e", "lab", "--json", "-n", "5").stdout.splitlines()}
    assert {"web", "worker", "clock"} <= services, services


def test_logs_since_and_markup_stays_text(deployed: None) -> None:
    tag = uuid.uuid4().hex[:8]
    host = sorted(hosts())[1]
    mark(host, f"old-{tag}")
    # A point in time between the two lines (the lab's servers share this machine's clock): a
    # relative --since would race with how long `opsctl logs` takes to start on a busy machine.
    time.sleep(1)
    cut = time.time()
    time.sleep(1)
    mark(host, f"new-{tag}-[bold]x[/bold]")
    out = run("logs", "web", "-e", "lab", "--since", f"{cut:.3f}", "--grep", tag).stdout
    assert f"new-{tag}-[bold]x[/bold]" in out and f"old-{tag}" not in out
    both = run("logs", "web", "-e", "lab", "--since", "10m", "--grep", tag).stdout
    assert f"old-{tag}" in both and f"new-{tag}-[bold]x[/bold]" in both
    bad = run("logs", "web", "-e", "lab", "--since", "yesterday", check=False)
    assert bad.returncode == 2 and "error: --since 'yesterday'" in bad.stderr


def test_logs_follow_picks_up_new_lines_and_stops_cleanly(deployed: None) -> None:
    tag = uuid.uuid4().hex[:8]
    first, second = sorted(hosts())[0], sorted(hosts())[2]
    mark(first, f"follow-{tag}-before")
    proc = start("logs", "web", "-e", "lab", "-f", "--json", "--grep", f"follow-{tag}")
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def wait_for(word: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = json.loads(lines.get(timeout=0.2))
            except queue.Empty:
                continue
            if word in item["message"]:
                return dict(item)
        raise AssertionError(f"{word} not seen within {timeout} s")

    try:
        assert wait_for(f"follow-{tag}-before", 60)["host"] == first  # the history came first
        time.sleep(1)  # the ssh streams start right after the history
        sent = time.monotonic()
        mark(second, f"follow-{tag}-after")
        assert wait_for(f"follow-{tag}-after", 10)["host"] == second
        assert time.monotonic() - sent < 5
        assert remote_followers(second)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    time.sleep(1)
    for host in hosts():
        assert remote_followers(host) == [], host
    local = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "Runs ON a host" not in local
