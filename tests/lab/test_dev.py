"""`opsctl dev up` / `dev down` on this machine's Docker engine: the test app (tests/lab/dev_app)
needs aws.rds and an SQS queue, so it runs with both stand-ins; it is asked through the proxy on
127.0.0.1 and answers from the live PostgreSQL its DATABASE_URL names. Nothing may be left after.

The names (app devtest, environment citest) and the port (18480) are not the lab's, so this runs
beside a running lab; like every lab test it runs under the lab's flock.
"""

from __future__ import annotations

import json
import stat
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.lab.helpers import opsctl

pytestmark = pytest.mark.lab

APP = Path(__file__).resolve().parent / "dev_app"
ENV = "citest"
PORT = 18480


@pytest.fixture
def dev(tmp_path: Path) -> dict[str, str]:
    """The base image the stand-ins build on, a private state home, and a clean start."""
    from opsctl.docker_engine import connect_client
    from opsctl.lab.images import ensure_base

    ensure_base(connect_client(hint="start dockerd"))
    env = {"OPSCTL_HOME": str(tmp_path / "home"), "CI": "true"}
    for name in ("OPSCTL_DEV_BASE_IMAGE", "OPSCTL_DEV_POSTGRES_IMAGE", "OPSCTL_DEV_PROXY_IMAGE"):
        env[name] = ""  # empty means unset: built here on the lab's base image
    opsctl("-c", str(APP / "opsctl.yml"), "dev", "down", "-e", ENV, "--yes", cwd=APP, env=env)
    return env


def get(path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as response:
        return str(response.read().decode())


def leftovers(home: Path) -> dict[str, Any]:
    from opsctl.docker_engine import connect_client

    client = connect_client(hint="start dockerd")
    found: dict[str, Any] = {
        "app containers": [c.name for c in client.containers.list(
            all=True, filters={"label": ["opsctl.app=devtest", f"opsctl.env={ENV}"]})],
        "stand-ins": [c.name for c in client.containers.list(all=True, filters={"label": f"opsctl.dev=devtest-{ENV}"})],
        "volumes": [v.name for v in client.volumes.list() if v.name == f"devtest-{ENV}-postgres-data"],
        "networks": [n.name for n in client.networks.list(names=[f"opsctl-devtest-{ENV}"])],
        "host state": Path(f"/var/lib/opsctl/devtest/{ENV}").exists(),
        "dev files": (home / "dev" / f"devtest-{ENV}").exists(),
    }
    return {k: v for k, v in found.items() if v}


def test_dev_up_runs_the_app_with_a_live_database_then_down_leaves_nothing(dev: dict[str, str]) -> None:
    args = ("-c", str(APP / "opsctl.yml"), "dev")
    home = Path(dev["OPSCTL_HOME"])
    up = opsctl(*args, "up", "-e", ENV, "--port", str(PORT), "--json", cwd=APP, env=dev)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        report = json.loads(up.stdout)
        assert report["urls"] == {"web": f"http://127.0.0.1:{PORT}"} and set(report["standins"]) == {"postgres", "aws"}

        # The release step and the web service both reached the database named by DATABASE_URL.
        db = json.loads(get("/db"))
        assert (db["database"], db["user"]) == ("devtest", "devtest")
        assert db["version"].startswith("PostgreSQL ") and db["notes"] == ["migrated dev"]
        gateway = _gateway()
        assert db["host"] == gateway  # the app network's gateway: not reachable from outside
        assert f"devtest-{ENV}-jobs" in get("/queues")  # the queue, created on the AWS endpoint
        assert json.loads(get("/env")) == {"DATABASE_URL": "set", "APP_SECRET_KEY": "set", "GREETING": "set"}

        # The generated secrets: a 0600 file, never in the output.
        secrets_file = Path(report["secrets_file"])
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        values = dict(line.split("=", 1) for line in secrets_file.read_text().splitlines() if "=" in line)
        assert values["DATABASE_URL"].startswith(f"postgresql://devtest:{values['DATABASE_PASSWORD']}@{gateway}:")
        for value in (values["DATABASE_PASSWORD"], values["APP_SECRET_KEY"]):
            assert value not in up.stdout + up.stderr
        assert _published(f"devtest-{ENV}-proxy") == [("127.0.0.1", str(PORT))]

        # Again: a new release of the rebuilt image, the same database (its data and password kept).
        again = opsctl(*args, "up", "-e", ENV, "--port", str(PORT), cwd=APP, env=dev)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "roll release #2" in again.stderr
        assert json.loads(get("/db"))["notes"] == ["migrated dev", "migrated dev"]

        # CI=true is not consent to delete a database.
        refused = opsctl(*args, "down", "-e", ENV, cwd=APP, env=dev)
        assert refused.returncode == 2 and "--yes" in refused.stderr
        assert get("/ping") == "pong"
    finally:
        down = opsctl(*args, "down", "-e", ENV, "--yes", cwd=APP, env=dev)
    assert down.returncode == 0, down.stderr
    assert leftovers(home) == {}
    assert _port_free(PORT)
    status = opsctl(*args, "status", "-e", ENV, "--json", cwd=APP, env=dev)
    assert json.loads(status.stdout)["containers"] == []


def test_dev_up_says_in_one_line_when_the_port_is_taken(dev: dict[str, str]) -> None:
    import socket

    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the other test's TIME_WAITs
        holder.bind(("127.0.0.1", PORT))
        holder.listen()
        result = opsctl("-c", str(APP / "opsctl.yml"), "dev", "up", "-e", ENV, "--port", str(PORT), cwd=APP, env=dev)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: port {PORT} on 127.0.0.1 (for service web) is taken"), result.stderr
    assert "Traceback" not in result.stderr


def test_dev_up_without_an_engine_is_one_error(dev: dict[str, str], tmp_path: Path) -> None:
    env = {**dev, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = opsctl("-c", str(APP / "opsctl.yml"), "dev", "up", "-e", ENV, cwd=APP, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the Docker engine"), result.stderr
    assert "Traceback" not in result.stderr


def _gateway() -> str:
    from opsctl.docker_engine import connect_client

    net = connect_client(hint="start dockerd").networks.get(f"opsctl-devtest-{ENV}")
    return str(net.attrs["IPAM"]["Config"][0]["Gateway"])


def _published(name: str) -> list[tuple[str, str]]:
    from opsctl.docker_engine import connect_client

    container = connect_client(hint="start dockerd").containers.get(name)
    bindings = container.attrs["HostConfig"]["PortBindings"] or {}
    return [(b["HostIp"], b["HostPort"]) for items in bindings.values() for b in items]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

