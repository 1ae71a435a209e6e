"""Deploy and rollback on the lab: 3 real servers, the example app with 2 web replicas per server."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from opsctl.paths import state_home
from tests.lab.helpers import (
    HELLO,
    Baseline,
    HelloImages,
    Load,
    hosts,
    http_ports,
    opsctl,
    releases,
    ssh,
    standby_copy,
    status,
    versions,
    wait_until_locked,
)

pytestmark = pytest.mark.lab

SECRET = f"s3cret-{uuid.uuid4().hex}"
ENV = {"HELLO_SECRET_KEY": SECRET}
OUTPUTS: list[str] = []


def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    proc = opsctl(*args, env=ENV, check=check)
    OUTPUTS.append(proc.stdout + proc.stderr)
    return proc


@pytest.fixture(scope="module")
def images(images: HelloImages) -> HelloImages:
    """The shared v1, v2 and vbad (tests/lab/conftest.py), and a v3."""
    images.need("v3")
    return images


BASELINE = Baseline("v1", ENV)


@pytest.fixture()
def fleet(images: HelloImages) -> None:
    BASELINE.reset()


@pytest.fixture()
def on_v1(images: HelloImages) -> None:
    """v1 deployed everywhere: by the test before, or else now after a reset."""
    BASELINE.ensure()


def load() -> Load:
    return Load([f"http://127.0.0.1:{port}/version" for port in http_ports().values()])


def test_deploy_and_rollback_without_failed_requests(fleet: None) -> None:
    assert run("deploy", "v1", "-e", "lab").returncode == 0, OUTPUTS[-1]
    assert set(versions().values()) == {"v1"}

    with load() as traffic:
        time.sleep(0.5)
        deploy = run("deploy", "v2", "-e", "lab", "-m", "second")
        time.sleep(0.5)
    assert deploy.returncode == 0, deploy.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert traffic.ok > 50
    assert set(versions().values()) == {"v2"}
    assert all(seen >= {"v1", "v2"} for seen in traffic.seen.values()), traffic.seen

    assert run("deploy", "v3", "-e", "lab").returncode == 0
    with load() as traffic:
        time.sleep(0.5)
        back = run("rollback", "-e", "lab")
        time.sleep(0.5)
    assert back.returncode == 0, back.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v2"}

    # A second rollback walks further back (to v1), not forward again to v3.
    assert run("rollback", "-e", "lab").returncode == 0
    assert set(versions().values()) == {"v1"}

    ledger = [(r["number"], r["kind"], r["version"], r["status"], r["target"], r["previous"])
              for r in releases()]
    assert ledger == [
        (5, "rollback", "v1", "succeeded", 1, 4),
        (4, "rollback", "v2", "succeeded", 2, 3),
        (3, "deploy", "v3", "succeeded", None, 2),
        (2, "deploy", "v2", "succeeded", None, 1),
        (1, "deploy", "v1", "succeeded", None, None),
    ]
    assert releases()[3]["message"] == "second"
    assert all(r["digest"] and r["digest"].startswith("sha256:") for r in releases())

    # A third rollback has nowhere to go and changes nothing.
    third = run("rollback", "-e", "lab")
    assert third.returncode == 1 and "no earlier succeeded release" in third.stderr
    assert len(releases()) == 5

    state = status()
    assert state["current"]["number"] == 5
    names = sorted(hosts())
    for host in names:
        running = [c for c in state["hosts"][host] if c["role"] == "app"]
        web = [c for c in running if c["service"] == "web"]
        assert len(web) == 2 and all(c["version"] == "v1" and c["health"] == "healthy" for c in web)
        assert [c["service"] for c in running if c["service"] == "worker"] == ["worker"]
        assert all(c["state"] == "running" and c["release"] == "5" for c in running)
        clocks = [c for c in running if c["service"] == "clock"]
        assert len(clocks) == (1 if host == names[0] else 0)


def test_unhealthy_release_rolls_back_everywhere(on_v1: None) -> None:
    with load() as traffic:
        bad = run("deploy", "vbad", "-e", "lab")
    assert bad.returncode == 1
    assert "did not pass its health check" in bad.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v1"}
    last = releases()[0]
    assert (last["version"], last["status"]) == ("vbad", "rolled back")
    assert status()["current"]["version"] == "v1"
    leftovers = [c for cs in status()["hosts"].values() for c in cs if c.get("version") == "vbad"]
    assert leftovers == []


def test_logs_and_exec_reach_the_current_release(on_v1: None) -> None:
    logs = run("logs", "web", "-e", "lab", "-n", "5")
    assert logs.returncode == 0, logs.stderr
    current = status()["current"]["number"]
    for host in hosts():
        # Merged logs: each line is prefixed by host/container (opsctl/observe/logs.py).
        assert f"{host}/hello-lab-web-r{current}-" in logs.stdout, logs.stdout
    one_off = run("exec", "-e", "lab", "--", "python3", "-c",
                  "import os; print(os.environ['OPSCTL_VERSION'], os.environ['GREETING'])")
    assert one_off.returncode == 0, one_off.stderr
    assert one_off.stdout.strip() == "v1 hello"
    failing = run("exec", "-e", "lab", "--", "python3", "-c", "raise SystemExit(3)")
    assert failing.returncode == 3


def _deploy_in_background() -> subprocess.Popen[str]:
    import os
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "opsctl", "deploy", "v2", "-e", "lab"],
        cwd=HELLO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )



def test_ctrl_c_releases_the_lock(on_v1: None) -> None:
    import signal

    deploy = _deploy_in_background()
    wait_until_locked(ENV)
    deploy.send_signal(signal.SIGINT)
    _, err = deploy.communicate(timeout=120)
    assert deploy.returncode == 130, err
    assert '"locked": false' in run("lock", "status", "-e", "lab", "--json").stdout


def test_lock_of_a_killed_deploy_can_be_seen_and_released(on_v1: None) -> None:
    deploy = _deploy_in_background()
    wait_until_locked(ENV)
    deploy.kill()
    deploy.communicate(timeout=60)
    held = run("lock", "status", "-e", "lab")
    assert "locked by" in held.stdout and f"pid {deploy.pid}" in held.stdout
    refused = run("deploy", "v2", "-e", "lab")
    assert refused.returncode == 1 and f"pid {deploy.pid}" in refused.stderr
    released = run("lock", "release", "-e", "lab")
    assert released.returncode == 0 and "released the lock held by" in released.stdout
    assert run("deploy", "v2", "-e", "lab").returncode == 0


def _web(host: str) -> dict[str, list[tuple[str, str]]]:
    """state -> [(container ID, version)] of the example's web replicas on `host`."""
    found: dict[str, list[tuple[str, str]]] = {}
    out = ssh(host, "docker", "ps", "-a", "--no-trunc", "--filter", "label=opsctl.app=hello",
              "--filter", "label=opsctl.service=web", "--format", '{{.ID}} {{.State}} {{.Label "opsctl.version"}}')
    for line in out.splitlines():
        ident, state, version = line.split()
        found.setdefault(state, []).append((ident, version))
    return found


def test_standby_rollback_resumes_the_replaced_replicas(fleet: None, tmp_path: Path) -> None:
    copy = standby_copy(tmp_path)
    assert opsctl("deploy", "v1", "-e", "lab", cwd=copy, env=ENV).returncode == 0
    assert opsctl("deploy", "v2", "-e", "lab", cwd=copy, env=ENV).returncode == 0
    names = sorted(hosts())
    before = {h: _web(h) for h in names}
    for host in names:  # v2 serves, v1's replicas wait paused
        assert sorted(v for _, v in before[host]["running"]) == ["v2", "v2"], before[host]
        assert sorted(v for _, v in before[host]["paused"]) == ["v1", "v1"], before[host]
    shown = status()
    assert shown["summary"]["ok"], shown["summary"]
    assert {c["light"] for cs in shown["hosts"].values() for c in cs if c["state"] == "paused"} == {"standby"}
    logs = opsctl("logs", "web", "-e", "lab", "--json", "-n", "5", env=ENV, check=True)
    logged = {(line["host"], line["container"]) for line in map(json.loads, logs.stdout.splitlines())}
    paused = {(h, n) for h in names for n in ssh(h, "docker", "ps", "--filter", "status=paused",
                                                 "--format", "{{.Names}}").split()}
    assert len(paused) == 6 and logged and not logged & paused, (logged, paused)

    with load() as traffic:
        time.sleep(0.5)
        back = opsctl("rollback", "-e", "lab", cwd=copy, env=ENV)
        time.sleep(0.5)
    assert back.returncode == 0, back.stdout + back.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v1"}
    for host in names:  # the very containers that were paused serve again; v2's are the standby now
        now = _web(host)
        assert sorted(now["running"]) == sorted(before[host]["paused"]), (host, now)
        assert sorted(now["paused"]) == sorted(before[host]["running"]), (host, now)

    # A deploy of a third release resumes nothing (no standby matches it) and keeps one set: v1's
    # replicas become the standby, v2's are removed.
    assert opsctl("deploy", "v3", "-e", "lab", cwd=copy, env=ENV).returncode == 0
    for host in names:
        now = _web(host)
        assert sorted(v for _, v in now["running"]) == ["v3", "v3"], now
        assert sorted(now["paused"]) == sorted(before[host]["paused"]), now
        assert set(now) == {"running", "paused"}, now


def test_failed_release_step_changes_nothing(fleet: None, tmp_path: Path) -> None:
    import yaml

    assert run("deploy", "v1", "-e", "lab").returncode == 0
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    config["env"]["clear"]["HELLO_MIGRATE_FAIL"] = "1"
    failing_config = tmp_path / "opsctl.yml"
    failing_config.write_text(yaml.safe_dump(config))

    with load() as traffic:
        failing = run("-c", str(failing_config), "deploy", "v2", "-e", "lab")
    assert failing.returncode == 1
    assert "Run the release command" in failing.stderr and "no running container was touched" in failing.stderr
    assert traffic.failed == 0
    assert set(versions().values()) == {"v1"}
    assert [r["version"] for r in releases()] == ["v1"]
    assert '"locked": false' in run("lock", "status", "-e", "lab", "--json").stdout


def test_held_lock_refuses_then_waits(fleet: None) -> None:
    assert run("lock", "acquire", "-e", "lab", "-m", "maintenance").returncode == 0
    held = run("lock", "status", "-e", "lab", "--json")
    assert '"locked": true' in held.stdout and "maintenance" in held.stdout

    refused = run("deploy", "v1", "-e", "lab")
    assert refused.returncode == 1
    assert "lock is held by" in refused.stderr and "maintenance" in refused.stderr
    assert releases() == []

    releaser = threading.Timer(4.0, lambda: run("lock", "release", "-e", "lab"))
    releaser.start()
    try:
        waited = run("deploy", "v1", "-e", "lab", "--lock-wait", "60")
    finally:
        releaser.join()
    assert waited.returncode == 0, waited.stderr
    assert "waiting for the deploy lock" in waited.stderr
    assert '"locked": false' in run("lock", "status", "-e", "lab", "--json").stdout


def test_secrets_never_leak(on_v1: None) -> None:
    assert run("deploy", "v2", "-e", "lab").returncode == 0
    # The app did get the secret...
    host = sorted(hosts())[0]
    env_files = ssh(host, "sh", "-c", "stat -c '%a %n' /var/lib/opsctl/hello/lab/env/*.env")
    assert env_files and all(line.startswith("600 ") for line in env_files.strip().splitlines())
    # ...but not through opsctl's output, Ansible's event data, command lines, or the ledger.
    for text in OUTPUTS:
        assert SECRET not in text
    for path in (state_home() / "runs").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    for name in hosts():
        ids = ssh(name, "docker", "ps", "-q", "--filter", "label=opsctl.app=hello").split()
        fields = "{{json .Path}} {{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}"
        inspected = ssh(name, "docker", "inspect", "--format", fields, *ids)
        assert SECRET not in inspected
        assert SECRET not in ssh(name, "cat", "/var/lib/opsctl/hello/lab/releases.json")
        assert SECRET not in ssh(name, "ps", "auxww")
