"""The release ledger and the deploy lock on the lab's real servers, on bad days.

Each test reproduces a report from issues 9 and 10 (a corrupt or shorter ledger copy, a lock left
by a killed deploy, Rich markup in messages, two inventories in another order) and failed before.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab.helpers import HELLO, HelloImages, hosts, opsctl, reset_fleet, ssh, wait_until_locked

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}
STATE = "/var/lib/opsctl/hello/lab"
LEDGER = f"{STATE}/releases.json"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return opsctl(*args, env={**ENV, **(env or {})})


def deployed(version: str, *extra: str) -> None:
    proc = run("deploy", version, "-e", "lab", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def lock_host() -> str:
    return min(hosts())


def other_host() -> str:
    return sorted(hosts())[1]


def snapshot() -> dict[str, str]:
    """Every file under the app's state dir (with its hash and mode) and every container, per host."""
    seen = {}
    for host in hosts():
        files = ssh(host, "sh", "-c", f"cd {STATE} && find . -type f ! -path './retire/*' "
                                      "-exec sha256sum {} + | sort; find . -type d | sort")
        containers = ssh(host, "docker", "ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}}",
                         "--filter", "label=opsctl.app=hello")
        seen[host] = files + "\n" + "\n".join(sorted(containers.splitlines()))
    return seen


def copies() -> dict[str, list[dict[str, Any]]]:
    return {h: json.loads(ssh(h, "cat", LEDGER)) for h in hosts()}


def clean_output(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr


@pytest.fixture()
def fleet(images: HelloImages) -> None:
    reset_fleet()


@pytest.mark.parametrize(
    ("where", "corrupt", "problem"),
    [
        # truncated mid-write (a full disk, a crash): was read as "no history" and overwritten
        ("lock", "head -c 200 {f} > {f}.tmp && mv {f}.tmp {f}", "not valid JSON"),
        # a string where a number belongs: was a traceback
        ("other", """sed -i 's/"number": 1,/"number": "1",/' {f}""", "number: Input should be a valid integer"),
        # an env-file path outside the state dir, from a hostile server
        ("other", """sed -i 's/"config_hash": "[0-9a-f]*"/"config_hash": "..\\/..\\/..\\/..\\/tmp\\/x"/' {f}""",
         "config_hash: String should match pattern"),
    ],
)
def test_a_corrupt_ledger_copy_stops_the_deploy_and_changes_nothing(
        fleet: None, where: str, corrupt: str, problem: str) -> None:
    deployed("v1")
    host = lock_host() if where == "lock" else other_host()
    ssh(host, "sh", "-c", corrupt.format(f=LEDGER))
    before = snapshot()

    refused = run("deploy", "v2", "-e", "lab")
    assert refused.returncode == 1
    clean_output(refused)
    assert f"host {host}: {LEDGER}: " in refused.stderr and problem in refused.stderr, refused.stderr
    assert "opsctl changed nothing" in refused.stderr
    assert snapshot() == before  # no ledger, env file, image pull result, container or lock changed

    listed = run("releases", "-e", "lab")
    assert listed.returncode == 1 and f"host {host}: {LEDGER}: " in listed.stderr
    clean_output(listed)
    assert run("rollback", "-e", "lab").returncode == 1
    assert snapshot() == before


def test_a_shorter_copy_is_reported_and_repaired(fleet: None) -> None:
    deployed("v1")
    behind = other_host()
    ssh(behind, "cp", LEDGER, f"{LEDGER}.r1")
    deployed("v2")
    ssh(behind, "mv", f"{LEDGER}.r1", LEDGER)  # as if it had been down during release #2

    listed = run("releases", "-e", "lab", "--json")
    assert listed.returncode == 0, listed.stderr
    assert f"{behind}'s ledger is behind: it lacks release(s) #2" in listed.stderr
    assert "opsctl releases --repair -e lab" in listed.stderr
    data = json.loads(listed.stdout)
    assert [r["number"] for r in data["releases"]] == [2, 1]
    assert data["behind"] == {behind: [2]} and data["hosts"][behind] == "#1"

    before = snapshot()
    for consent in ({}, {"CI": "true"}):  # no terminal to ask on; CI=true alone is not consent
        refused = run("releases", "--repair", "-e", "lab", env=consent)
        assert refused.returncode == 2 and "--yes" in refused.stderr, refused.stderr
        assert f"write {LEDGER} on {behind} (it has #1)" in refused.stderr
    assert snapshot() == before

    repaired = run("releases", "--repair", "-e", "lab", "--yes")
    assert repaired.returncode == 0, repaired.stderr
    assert f"repaired the ledger on {behind}" in repaired.stderr
    found = copies()
    assert all(copy == found[lock_host()] for copy in found.values())
    assert [r["number"] for r in found[behind]] == [1, 2]
    quiet = run("releases", "-e", "lab")
    assert quiet.returncode == 0 and "behind" not in quiet.stderr

    # The lock host itself behind (the old "inventory order changed" case): the next deploy still
    # numbers from the longest history and brings every copy up to date; nothing is lost.
    ssh(lock_host(), "sh", "-c", f"python3 -c \"import json; p='{LEDGER}'; "
                                 "d=json.load(open(p)); json.dump(d[:1], open(p, 'w'))\"")
    deployed("v1")
    found = copies()
    assert all([r["number"] for r in copy] == [1, 2, 3] for copy in found.values()), found
    assert found[lock_host()][-1]["previous"] == 2



def test_the_lock_of_a_killed_deploy_is_reported_as_stale(fleet: None) -> None:
    deploy = subprocess.Popen(
        [sys.executable, "-m", "opsctl", "deploy", "v2", "-e", "lab"],
        cwd=HELLO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until_locked(ENV)
    deploy.send_signal(signal.SIGKILL)
    deploy.communicate(timeout=60)
    time.sleep(1)  # a playbook run orphaned by the kill may still be finishing its task

    held = run("lock", "status", "-e", "lab")
    assert f"pid {deploy.pid}" in held.stdout
    assert f"that process is gone: pid {deploy.pid} is no longer running on this machine" in held.stderr
    assert "take the lock over with: opsctl lock release -e lab" in held.stderr
    state = json.loads(run("lock", "status", "-e", "lab", "--json").stdout)
    assert state["stale"] is True and state["holder_state"] == "gone"

    started = time.monotonic()
    refused = run("deploy", "v1", "-e", "lab", "--lock-wait", "120")
    assert refused.returncode == 1
    assert time.monotonic() - started < 60  # did not wait for a holder that is gone
    assert "waiting for the deploy lock" not in refused.stderr
    assert "that process is gone" in refused.stderr
    assert "take the lock over with: opsctl lock release -e lab" in refused.stderr

    released = run("lock", "release", "-e", "lab")
    assert released.returncode == 0, released.stderr
    assert "(its process was gone)" in released.stdout
    deployed("v1")


def test_a_live_lock_from_elsewhere_needs_force(fleet: None) -> None:
    holder = {"who": "bob@ci", "since": "2026-11-23T06:00:00Z", "version": "v9", "message": None,
              "action": "deploy", "pid": 1, "machine": "some-ci-runner", "started": 1.0, "token": "t"}
    ssh(lock_host(), "sh", "-c", f"mkdir -p {STATE}/lock && echo '{json.dumps(holder)}' > {STATE}/lock/info.json")
    refused = run("lock", "release", "-e", "lab")
    assert refused.returncode == 1 and "lock release -e lab --force" in refused.stderr
    assert "runs on another machine (some-ci-runner)" in refused.stderr
    assert run("lock", "release", "-e", "lab", "--force").returncode == 0
    assert '"locked": false' in run("lock", "status", "-e", "lab", "--json").stdout


def test_markup_in_messages_prints_literally(fleet: None) -> None:
    deployed("v1", "-m", "fix [/bold] and [red]this")
    listed = run("releases", "-e", "lab")
    assert listed.returncode == 0, listed.stderr
    assert "fix [/bold] and [red]this" in listed.stdout

    assert run("lock", "acquire", "-e", "lab", "-m", "freeze [/bold] now").returncode == 0
    status = run("lock", "status", "-e", "lab")
    assert status.returncode == 0 and "freeze [/bold] now" in status.stdout, status.stderr
    refused = run("deploy", "v2", "-e", "lab")
    assert refused.returncode == 1
    clean_output(refused)
    assert "lock is held by" in refused.stderr and "freeze [/bold] now" in refused.stderr
    assert run("lock", "release", "-e", "lab").returncode == 0


def test_two_inventory_orders_share_one_lock(fleet: None, tmp_path: Path) -> None:
    servers = hosts()
    reversed_inventory = tmp_path / "inventory.yml"
    reversed_inventory.write_text(yaml.safe_dump(
        {"all": {"hosts": {name: servers[name] for name in sorted(servers, reverse=True)}}}, sort_keys=False))
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    config["environments"]["lab"]["inventory"] = str(reversed_inventory)
    config["build"]["context"] = str(HELLO)
    other = tmp_path / "opsctl.yml"
    other.write_text(yaml.safe_dump(config))

    assert run("-c", str(other), "lock", "acquire", "-e", "lab", "-m", "from the other inventory").returncode == 0
    refused = run("deploy", "v1", "-e", "lab")
    assert refused.returncode == 1 and "from the other inventory" in refused.stderr, refused.stderr
    assert run("lock", "release", "-e", "lab").returncode == 0
