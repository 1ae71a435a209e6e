"""Every failure says why, on the lab: one line naming host, step and cause, plus where the log is.

The registry stopped, a Docker engine stopped and a full disk are in test_faults.py (they are
faults mid-deploy too); these are the causes an operator brings about by mistake.
"""

from __future__ import annotations

import uuid

import pytest

from tests.lab.helpers import Baseline, HelloImages, Load, get, http_ports, opsctl, releases, ssh, versions

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": "causes-secret"}
LOG_HINT = "Ansible's events for this run are in"


BASELINE = Baseline("v1", ENV)


@pytest.fixture()
def on_v1(images: HelloImages) -> None:
    BASELINE.ensure()


def _traffic(hosts: list[str] | None = None) -> Load:
    ports = http_ports()
    return Load([f"http://127.0.0.1:{ports[h]}/version" for h in (hosts or sorted(ports))])


def test_an_image_missing_from_the_registry(on_v1: None) -> None:
    with _traffic() as traffic:
        failed = opsctl("deploy", "vnowhere", "-e", "lab", env=ENV)
    assert failed.returncode == 1
    for host in http_ports():
        assert (f"{host}: Pull the image: image localhost:5050/hello:vnowhere is not in the registry (was it "
                "built and pushed? opsctl build VERSION)") in failed.stderr, failed.stderr
    assert LOG_HINT in failed.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v1"}


def test_a_refused_registry_login_says_so_without_the_password(on_v1: None) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    with _traffic() as traffic:
        failed = opsctl("deploy", "v2", "-e", "lab", env={**ENV, "OPSCTL_REGISTRY_PASSWORD": wrong})
    assert failed.returncode == 1
    for host in http_ports():
        assert f"{host}: Configs and registry login: the registry refused the login" in failed.stderr, failed.stderr
    assert "401 Unauthorized" in failed.stderr and LOG_HINT in failed.stderr
    assert wrong not in failed.stdout + failed.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v1"}


def test_a_port_already_taken_on_a_host(on_v1: None) -> None:
    # Another container holds the ingress port on the last host once its shared ingress is gone:
    # the roll reaches it after the others, fails there, and rolls the others back.
    taken = sorted(http_ports())[-1]
    healthy = [h for h in sorted(http_ports()) if h != taken]
    ssh(taken, "docker", "rm", "-f", "opsctl-ingress")
    ssh(taken, "docker", "run", "-d", "--name", "squatter", "-p", "80:8000", "localhost:5050/hello:v1",
        "python3", "/app/hello.py", "web")
    try:
        with _traffic(healthy) as traffic:
            failed = opsctl("deploy", "v2", "-e", "lab", env=ENV)
    finally:
        ssh(taken, "docker", "rm", "-f", "squatter")
    assert failed.returncode == 1
    assert (f"{taken}: Swap containers: port 80 is already taken on the host (by another container)"
            in failed.stderr), failed.stderr
    assert LOG_HINT in failed.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    ports = http_ports()
    assert {h: get(f"http://127.0.0.1:{ports[h]}/version")[1].strip() for h in healthy} == dict.fromkeys(healthy, "v1")
    # With the port free again, the next deploy converges every host.
    opsctl("deploy", "v2", "-e", "lab", env=ENV, check=True)
    assert set(versions().values()) == {"v2"}


def test_a_health_check_that_never_passes(on_v1: None) -> None:
    with _traffic() as traffic:
        failed = opsctl("deploy", "vbad", "-e", "lab", env=ENV)
    assert failed.returncode == 1
    first = sorted(http_ports())[0]
    # The new web containers start on every host ahead of its turn: none becomes healthy, so the
    # roll stops there, before any host switched.
    assert f"{first}: Start new containers ahead: the new container hello-lab-web-" in failed.stderr, failed.stderr
    assert "never passed its health check /ping within 10.0s (20 checks)" in failed.stderr
    assert LOG_HINT in failed.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert set(versions().values()) == {"v1"}
    assert (releases()[0]["version"], releases()[0]["status"]) == ("vbad", "rolled back")


def test_skip_hosts_leaves_a_host_out_and_status_shows_it_behind(on_v1: None) -> None:
    import json

    skipped = sorted(http_ports())[-1]
    others = [h for h in sorted(http_ports()) if h != skipped]
    bad = opsctl("deploy", "v2", "-e", "lab", "--skip-hosts", "nohost", env=ENV)
    assert bad.returncode == 2 and "unknown host(s) nohost" in bad.stderr, bad.stderr
    with _traffic() as traffic:
        opsctl("deploy", "v2", "-e", "lab", "--skip-hosts", skipped, env=ENV, check=True)
    assert traffic.failed == 0, traffic.errors[:10]
    assert versions() == {**dict.fromkeys(others, "v2"), skipped: "v1"}
    newest = releases()[0]
    assert (newest["version"], newest["skipped"], newest["hosts"]) == ("v2", [skipped], others)
    shown = json.loads(opsctl("status", "-e", "lab", "--json", env=ENV).stdout)
    assert shown["behind"] == {skipped: f"skipped by #{newest['number']}, runs v1"}
    assert shown["converge"] == "opsctl deploy v2 -e lab"
    assert "to converge: opsctl deploy v2 -e lab" in shown["summary"]["text"]
    # The command status names converges the fleet.
    opsctl("deploy", "v2", "-e", "lab", env=ENV, check=True)
    assert set(versions().values()) == {"v2"}
    assert json.loads(opsctl("status", "-e", "lab", "--json", env=ENV).stdout)["behind"] == {}

